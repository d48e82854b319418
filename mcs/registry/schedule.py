"""Point schedule CSVs: the reference's 21 columns plus the registry's own, parsed into `Point`s.

A file starts with a header row whose first 21 names are the reference schedule's, in order; the
registry's extra columns follow in any order and may be left out (defaults in sites/README.md).
Rows whose first field starts with `#` are comments and blank rows are skipped, as in the
reference. A row with a different number of fields than the header is rejected: that is how the
reference's misaligned alarm columns (domain brief §2.5) are caught.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from mcs.registry.errors import located, pydantic_message
from mcs.registry.models import PRIORITIES, Limit, Point

REFERENCE_COLUMNS: tuple[str, ...] = (
    "tag", "description", "subsystem", "equipment_parent", "protocol", "protocol_address", "data_type",
    "unit", "range_min", "range_max", "precision", "poll_rate_ms",
    "alarm_P0_low", "alarm_P0_high", "alarm_P1_low", "alarm_P1_high",
    "alarm_P2_low", "alarm_P2_high", "alarm_P3_low", "alarm_P3_high", "engineering_notes",
)
EXTRA_COLUMNS: tuple[str, ...] = (
    "kind", "device", "register_type", "word_order", "snmp_type", "scale", "offset", "enum_map",
    "deadband", "on_delay_s", "off_delay_s", "billing_role",
)
LIMIT_COLUMNS: tuple[str, ...] = tuple(c for c in REFERENCE_COLUMNS if c.startswith("alarm_"))

# CSV column → Point field (columns not listed keep their name).
COLUMN_FIELD: dict[str, str] = {
    "equipment_parent": "equipment_tag", "protocol_address": "address", "poll_rate_ms": "poll_ms",
    "engineering_notes": "notes", "device": "device_id", "offset": "value_offset",
}
FIELD_COLUMN: dict[str, str] = {field: column for column, field in COLUMN_FIELD.items()}


@dataclass(frozen=True)
class SourcedPoint:
    """A parsed point and where it came from (for error messages naming file and line)."""

    point: Point
    path: str
    line: int


def column_of(field: str) -> str:
    return FIELD_COLUMN.get(field, field)


def read_schedule(path: Path, display: str) -> tuple[list[SourcedPoint], list[str]]:
    """Parse one schedule file; returns the valid points and the errors of the invalid rows."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return _read_rows(csv.reader(handle), display)
    except OSError as exc:
        return [], [located(display, None, None, f"cannot read point schedule: {exc.strerror}")]
    except UnicodeDecodeError as exc:
        return [], [located(display, None, None, f"not UTF-8 text (byte {exc.start}); save it as UTF-8")]


def _read_rows(reader: Iterator[list[str]], display: str) -> tuple[list[SourcedPoint], list[str]]:
    header = next(reader, None)
    header_errors = _check_header(header, display)
    if header is None or header_errors:
        return [], header_errors
    columns = [c.strip() for c in header]
    errors: list[str] = []
    points: list[SourcedPoint] = []
    for row in reader:
        line = reader.line_num  # type: ignore[attr-defined]  # physical line: quoted notes may span lines
        if not row or not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if len(row) != len(columns):
            errors.append(located(display, line, None, f"row has {len(row)} fields, the header has "
                                  f"{len(columns)} (an unquoted comma, or alarm columns shifted?)"))
            continue
        parsed, row_errors = parse_row(dict(zip(columns, (c.strip() for c in row), strict=True)))
        errors += [located(display, line, column, message) for column, message in row_errors]
        if parsed is not None:
            points.append(SourcedPoint(parsed, display, line))
    return points, errors


def _check_header(header: list[str] | None, display: str) -> list[str]:
    if header is None:
        return [located(display, None, None, "empty file: expected a header row")]
    names = [c.strip() for c in header]
    if tuple(names[: len(REFERENCE_COLUMNS)]) != REFERENCE_COLUMNS:
        for index, expected in enumerate(REFERENCE_COLUMNS):
            got = names[index] if index < len(names) else "(missing)"
            if got != expected:
                return [located(display, 1, None, f"header column {index + 1} is '{got}', expected "
                                f"'{expected}' (the first 21 columns are the reference schedule's, in order)")]
    errors = []
    seen: set[str] = set()
    for name in names[len(REFERENCE_COLUMNS):]:
        if name not in EXTRA_COLUMNS:
            errors.append(located(display, 1, None, f"unknown column '{name}' (known: {', '.join(EXTRA_COLUMNS)})"))
        elif name in seen:
            errors.append(located(display, 1, None, f"column '{name}' appears twice"))
        seen.add(name)
    return errors


def parse_row(cells: dict[str, str]) -> tuple[Point | None, list[tuple[str, str]]]:
    """One CSV row → Point, or the (column, message) problems that prevent it."""
    errors: list[tuple[str, str]] = []
    data: dict[str, object] = {}
    for column, value in cells.items():
        if column in LIMIT_COLUMNS or value == "":
            continue
        data[COLUMN_FIELD.get(column, column)] = value
    if isinstance(data.get("data_type"), str):
        data["data_type"] = str(data["data_type"]).lower()  # the reference writes FLOAT32 / UINT16
    if "kind" not in data:
        data["kind"] = "binary" if cells.get("unit") == "bool" else "analog"
    if "enum_map" in data:
        try:
            data["enum_map"] = json.loads(str(data["enum_map"]))
        except json.JSONDecodeError as exc:
            errors.append(("enum_map", f"not a JSON object ({exc.msg}), e.g. {{\"0\": \"off\", \"1\": \"on\"}}"))
            del data["enum_map"]
    limits: list[Limit] = []
    for priority in PRIORITIES:
        for direction in ("low", "high"):
            column = f"alarm_{priority}_{direction}"
            raw = cells.get(column, "")
            if raw == "":
                continue
            try:
                limits.append(Limit(priority=priority, direction=direction, value=float(raw)))
            except ValueError:
                errors.append((column, f"{raw!r} is not a number"))
    data["limits"] = tuple(limits)
    if errors:
        return None, errors
    try:
        point = Point.model_validate(data)
    except ValidationError as exc:
        return None, [(column_of(str(err["loc"][0])) if err["loc"] else "row", pydantic_message(err))
                      for err in exc.errors()]
    issues = [(column_of(field), message) for field, message in point.issues()]
    return (None, issues) if issues else (point, [])


def write_schedule(points: list[Point], handle: TextIO) -> None:
    """Points back in the schedule format (as-built handover); `read_schedule` reads it back equal."""
    columns = REFERENCE_COLUMNS + EXTRA_COLUMNS
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(columns)
    for point in points:
        writer.writerow([_cell(point, column) for column in columns])


def _cell(point: Point, column: str) -> str:
    if column in LIMIT_COLUMNS:
        _, priority, direction = column.split("_")
        value = next((lim.value for lim in point.limits if (lim.priority, lim.direction) == (priority, direction)),
                     None)
        return "" if value is None else _number(value)
    value = getattr(point, COLUMN_FIELD.get(column, column))
    if value is None:
        return ""
    if column == "enum_map":
        return json.dumps(value, ensure_ascii=False)
    return _number(value) if isinstance(value, float) else str(value)


def _number(value: float) -> str:
    text = repr(value)  # the shortest text that reads back as the same float
    return text[:-2] if text.endswith(".0") else text
