"""The one renderer every report uses: a `ReportDocument` → PDF (reportlab) and XLSX (openpyxl) bytes.

Reports differ only in their data (which relation, which sections, which totals — see specs.py);
the layout is shared so a fix to formatting or determinism applies to all of them.

Determinism (same data → same bytes): the PDF is written in reportlab's invariant mode (fixed
creation date and document id); the XLSX has its document dates set to the end of the data window
and is re-zipped with fixed member timestamps, because openpyxl stamps "now" into both.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
MAX_PDF_ROWS = 400  # a section longer than this is summarised in the PDF; the XLSX has every row
MAX_PDF_COLUMNS = 9  # wider sections are shown field by field (few rows) or in column blocks (many rows)
FIELDS_MAX_ROWS = 6


@dataclass(frozen=True)
class Section:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class ReportDocument:
    report: str
    title: str
    site_id: str
    site_name: str
    period: str                  # "2026-10" or "2026-Q4"
    window_start: datetime       # UTC, inclusive
    window_end: datetime         # UTC, exclusive
    timezone: str
    summary: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def format_value(value: Any) -> str:
    """Display form: floats to 4 significant decimals at most, thousands separators, '' for NULL."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float | Decimal):
        number = float(value)
        if number != number:  # NaN
            return ""
        decimals = 2 if abs(number) >= 100 else 4
        return f"{number:,.{decimals}f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def as_fields(section: Section) -> Section:
    """A wide section with few rows, transposed: one line per column ("Field", then one column per row)."""
    heads = ("Field", "Value") if len(section.rows) == 1 else ("Field", *(f"Row {i}" for i in
                                                                            range(1, len(section.rows) + 1)))
    rows = tuple((col, *(row[i] for row in section.rows)) for i, col in enumerate(section.columns))
    return Section(section.title, heads, rows, section.note)


def column_blocks(section: Section) -> list[Section]:
    """A wide section with many rows, split into blocks of columns, each repeating the first column."""
    rest = list(range(1, len(section.columns)))
    step = MAX_PDF_COLUMNS - 1
    blocks = []
    for start in range(0, len(rest), step):
        idx = [0, *rest[start:start + step]]
        title = section.title if start == 0 else f"{section.title} (continued)"
        blocks.append(Section(title, tuple(section.columns[i] for i in idx),
                              tuple(tuple(row[i] for i in idx) for row in section.rows), section.note if not start
                              else ""))
    return blocks


def _pdf_sections(section: Section) -> list[Section]:
    if len(section.columns) <= MAX_PDF_COLUMNS or not section.rows:
        return [section]
    if len(section.rows) <= FIELDS_MAX_ROWS:
        return [as_fields(section)]
    return column_blocks(section)


def _pdf_table(section: Section, width: float) -> list[Any]:
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=8.5)
    head = small.clone("head", fontName="Helvetica-Bold")
    rows = section.rows[:MAX_PDF_ROWS]
    data = [[Paragraph(c, head) for c in section.columns]]
    data += [[Paragraph(format_value(v), small) for v in row] for row in rows]
    flow: list[Any] = [Paragraph(section.title, styles["Heading3"])]
    if section.note:
        flow.append(Paragraph(section.note, styles["Italic"]))
    if not section.rows:
        flow.append(Paragraph("No rows for this period.", styles["BodyText"]))
        return flow
    col_width = width / max(1, len(section.columns))
    table = LongTable(data, colWidths=[col_width] * len(section.columns), repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde3ea")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    flow.append(table)
    if len(section.rows) > MAX_PDF_ROWS:
        flow.append(Paragraph(f"{len(section.rows) - MAX_PDF_ROWS} more rows in the spreadsheet.",
                              styles["Italic"]))
    return flow


def render_pdf(doc: ReportDocument, content_hash: str) -> bytes:
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    pagesize = landscape(A4)
    template = SimpleDocTemplate(buffer, pagesize=pagesize, invariant=1, title=doc.title,
                                 author="MCS data platform", subject=f"{doc.site_id} {doc.period}",
                                 creator="MCS data platform", leftMargin=12 * mm, rightMargin=12 * mm,
                                 topMargin=12 * mm, bottomMargin=14 * mm)
    width = pagesize[0] - 24 * mm
    window = (f"{doc.window_start.isoformat(timespec='seconds')} – {doc.window_end.isoformat(timespec='seconds')}"
              f" (site time zone {doc.timezone})")
    story: list[Any] = [
        Paragraph(doc.title, styles["Title"]),
        Paragraph(f"{doc.site_name} ({doc.site_id}) — period {doc.period}", styles["Heading2"]),
        Paragraph(f"Data window (UTC): {window}", styles["BodyText"]),
        Spacer(1, 4 * mm),
    ]
    if doc.summary:
        story.append(_pdf_table(Section("Summary", ("Item", "Value"), tuple(doc.summary)), width / 2)[1])
        story.append(Spacer(1, 4 * mm))
    for section in doc.sections:
        for part in _pdf_sections(section):
            story.extend(_pdf_table(part, width))
            story.append(Spacer(1, 4 * mm))
    for note in doc.notes:
        story.append(Paragraph(note, styles["Italic"]))

    def footer(canvas: Any, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(12 * mm, 7 * mm, f"{doc.report} · {doc.site_id} · {doc.period} · content {content_hash[:16]}")
        canvas.drawRightString(pagesize[0] - 12 * mm, 7 * mm, f"page {canvas.getPageNumber()}")
        canvas.restoreState()

    template.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, list | tuple | dict):
        return str(value)
    return value


def _normalise_xlsx(raw: bytes, stamp: datetime) -> bytes:
    """Re-zip with fixed member timestamps and the document dates set to `stamp`."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = data.decode()
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)", rf"\g<1>{iso}\g<3>", text)
                data = text.encode()
            member = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            dst.writestr(member, data)
    return out.getvalue()


def render_xlsx(doc: ReportDocument, content_hash: str) -> bytes:
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    bold = Font(bold=True)
    header_rows = [("Report", doc.title), ("Site", f"{doc.site_name} ({doc.site_id})"), ("Period", doc.period),
                   ("Window start (UTC)", doc.window_start.isoformat(timespec="seconds")),
                   ("Window end (UTC)", doc.window_end.isoformat(timespec="seconds")),
                   ("Time zone", doc.timezone), ("Content hash", content_hash)]
    for label, value in (*header_rows, *doc.summary):
        summary.append([label, value])
        summary.cell(row=summary.max_row, column=1).font = bold
    for note in doc.notes:
        summary.append([note])
    for index, section in enumerate(doc.sections, start=1):
        sheet = wb.create_sheet(title=f"{index} " + re.sub(r"[\[\]:*?/\\]", " ", section.title)[:27])
        sheet.append(list(section.columns))
        for cell in sheet[1]:
            cell.font = bold
        for row in section.rows:
            sheet.append([_xlsx_value(v) for v in row])
    stamp = doc.window_end.replace(tzinfo=None)
    wb.properties.creator = "MCS data platform"
    wb.properties.created = stamp
    raw = io.BytesIO()
    wb.save(raw)
    return _normalise_xlsx(raw.getvalue(), stamp)


def markdown_preview(section: Section, limit: int = 12, wide_as_fields: bool = False) -> str:
    """A markdown table of the first rows, for Dagster metadata (wide, short sections field by field)."""
    if wide_as_fields and len(section.columns) > MAX_PDF_COLUMNS and 0 < len(section.rows) <= FIELDS_MAX_ROWS:
        section = as_fields(section)
        limit = max(limit, len(section.rows))
    if not section.columns:
        return "_no columns_"
    lines = ["| " + " | ".join(section.columns) + " |", "|" + "---|" * len(section.columns)]
    for row in section.rows[:limit]:
        lines.append("| " + " | ".join(format_value(v).replace("|", "/") for v in row) + " |")
    if len(section.rows) > limit:
        lines.append(f"\n_{len(section.rows) - limit} more rows in the spreadsheet_")
    if not section.rows:
        lines.append("| " + " | ".join("" for _ in section.columns) + " |")
    return "\n".join(lines)
