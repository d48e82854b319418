"""The shared report renderer: same data → same bytes; wide sections stay readable; statement lines."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal

from openpyxl import load_workbook

from assets.reports.data import canonical, line_section, section_totals
from assets.reports.render import ReportDocument, Section, as_fields, column_blocks, render_pdf, render_xlsx
from assets.reports.specs import REPORTS_BY_NAME

WIDE = tuple(f"col_{i}" for i in range(20))


def _doc(rows: tuple[tuple, ...], columns: tuple[str, ...] = ("block_id", "kwh", "amount")) -> ReportDocument:
    return ReportDocument(
        report="invoice", title="Customer invoice", site_id="ab-baldwinsville", site_name="AB InBev Baldwinsville",
        period="2026-10", window_start=datetime(2026, 10, 1, 4, tzinfo=UTC), window_end=datetime(2026, 11, 1, 4,
                                                                                              tzinfo=UTC),
        timezone="America/New_York", summary=(("Currency", "USD"),), sections=(Section("Lines", columns, rows),))


def test_same_data_gives_identical_pdf_and_xlsx_bytes():
    doc = _doc((("block-01", 17460.097, Decimal("1484.11")),))
    assert render_pdf(doc, "a" * 64) == render_pdf(doc, "a" * 64)
    first, second = render_xlsx(doc, "a" * 64), render_xlsx(doc, "a" * 64)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    sheet = load_workbook(io.BytesIO(first))["1 Lines"]
    assert [c.value for c in sheet[2]] == ["block-01", 17460.097, 1484.11]
    assert render_pdf(_doc((("block-01", 1.0, Decimal("1")),)), "a" * 64) != render_pdf(doc, "a" * 64)


def test_wide_sections_are_shown_field_by_field_or_in_blocks():
    one_row = Section("Invoice", WIDE, (tuple(range(20)),))
    fields = as_fields(one_row)
    assert fields.columns == ("Field", "Value") and fields.rows[3] == ("col_3", 3)
    many = Section("Daily", WIDE, tuple(tuple(range(i, i + 20)) for i in range(10)))
    blocks = column_blocks(many)
    assert all(b.columns[0] == "col_0" and len(b.columns) <= 9 for b in blocks)
    assert sorted({c for b in blocks for c in b.columns}) == sorted(WIDE)
    # A one-row, 20-column invoice lays out (reportlab raises LayoutError when a table cannot fit).
    assert render_pdf(_doc(one_row.rows, WIDE), "b" * 64).startswith(b"%PDF")


def test_invoice_statement_lines_and_totals():
    spec = REPORTS_BY_NAME["invoice"]
    columns = ("invoice_number", "committed_kw", "colo_rate", "colo_fee_amount", "sla_credit_pct",
               "sla_credit_amount", "total_amount")
    primary = Section("Invoice", columns, (("ML-AB-202610-001", Decimal("420"), Decimal("170"), Decimal("71400.00"),
                                            Decimal("5"), Decimal("3570.00"), Decimal("67830.00")),))
    lines = line_section(primary, spec.lines)
    by_label = {row[1]: row for row in lines.rows}
    assert by_label["Colocation (committed kW, pro-rata)"][2:] == (Decimal("420"), "kW", Decimal("170"),
                                                                   Decimal("71400.00"))
    assert by_label["SLA credit"][5] == Decimal("-3570.00")           # shown as a credit
    assert "Metered IT power" not in by_label                         # its amount column is absent
    assert section_totals(primary, ("colo_fee_amount", "total_amount", "missing")) == {
        "colo_fee_amount": 71400.0, "total_amount": 67830.0}
    assert canonical(0.1 + 0.2) == 0.3 and canonical(-0.0) == 0.0 and canonical(float("nan")) is None
