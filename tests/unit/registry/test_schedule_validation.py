"""Point-schedule rows: each kind of bad input is rejected with file, line and column named."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcs.registry import RegistryError, load_site_files
from tests.unit.registry.sitekit import HEADER, ROWS, row, write_site

CSV = "test-site/points/block-01.csv"


def errors_for(tmp_path: Path, rows: list[str]) -> list[str]:
    with pytest.raises(RegistryError) as info:
        load_site_files(write_site(tmp_path, rows=rows))
    return info.value.errors


def only_error(tmp_path: Path, bad: str) -> str:
    """Load the valid rows with `bad` appended (line 8); return the single error."""
    errors = errors_for(tmp_path, [*ROWS.values(), bad])
    assert len(errors) == 1, errors
    return errors[0]


def test_valid_site_loads(tmp_path: Path) -> None:
    (site,) = load_site_files(write_site(tmp_path))
    points = {p.tag: p for p in site.blocks[0].points}
    assert points["TT-HOST"].address == "analog-input,1"  # type:instance normalised
    assert points["LD-01a"].enum_map == {"0": "dry", "1": "leak"}
    assert points["MET-01-kWh"].scale == 0.001 and points["MET-01-kWh"].word_order == "ABCD"


def test_unknown_unit_names_file_line_and_field(tmp_path: Path) -> None:
    message = only_error(tmp_path, row("MET-01-kW", tag="X-1", unit="degC", protocol_address="40101",
                                       billing_role=""))
    assert message.endswith(f"{CSV}:8: field 'unit': 'degC' is not a canonical MCS unit (use °C)")


def test_row_with_wrong_field_count_is_rejected(tmp_path: Path) -> None:
    shifted = row("MET-01-kW", tag="X-1", protocol_address="40101", billing_role="",
                  engineering_notes="notes").replace("notes", "notes, with a comma")
    message = only_error(tmp_path, shifted)
    assert f"{CSV}:8: row has 34 fields, the header has 33" in message


def test_high_limits_must_rise_towards_p0(tmp_path: Path) -> None:
    bad = row("UPS-01-load", tag="UPS-02-load", protocol_address="1.3.6.1.4.1.318.1.1.1.4.2.4.0",
              alarm_P1_high="99", alarm_P2_high="99.5")
    message = only_error(tmp_path, bad)
    assert f"{CSV}:8: field 'alarm_P1_high': P1 high 99 must be at or above P2 high 99.5" in message


def test_low_limits_must_fall_towards_p0(tmp_path: Path) -> None:
    bad = row("UPS-01-load", tag="UPS-02-load", protocol_address="1.3.6.1.4.1.318.1.1.1.4.2.4.0",
              alarm_P0_low="30", alarm_P3_low="20")
    message = only_error(tmp_path, bad)
    assert "field 'alarm_P0_low': P0 low 30 must be at or below P3 low 20" in message


def test_low_limit_at_or_above_a_high_limit_would_always_alarm(tmp_path: Path) -> None:
    bad = row("UPS-01-load", tag="UPS-02-load", protocol_address="1.3.6.1.4.1.318.1.1.1.4.2.4.0",
              alarm_P3_low="92")
    assert "field 'alarm_P3_low': low limit 92 is not below high limit 90" in only_error(tmp_path, bad)


def test_limit_outside_the_range(tmp_path: Path) -> None:
    bad = row("UPS-01-load", tag="UPS-02-load", protocol_address="1.3.6.1.4.1.318.1.1.1.4.2.4.0",
              alarm_P0_high="120")
    assert "field 'alarm_P0_high': 120 is outside the range [0, 100]" in only_error(tmp_path, bad)


def test_limit_must_be_a_number(tmp_path: Path) -> None:
    bad = row("UPS-01-load", tag="UPS-02-load", protocol_address="1.3.6.1.4.1.318.1.1.1.4.2.4.0",
              alarm_P0_high="0=closed")
    assert f"{CSV}:8: field 'alarm_P0_high': '0=closed' is not a number" in only_error(tmp_path, bad)


def test_binary_point_alarms_only_at_one_or_zero(tmp_path: Path) -> None:
    bad = row("LD-01a", tag="LD-01b", protocol_address="10002", alarm_P0_high="0.5")
    assert "field 'alarm_P0_high': a binary point alarms with 'high 1' or 'low 0'" in only_error(tmp_path, bad)


def test_kind_and_unit_must_agree(tmp_path: Path) -> None:
    bad = row("LD-01a", tag="MODE", protocol_address="10002", kind="enum", enum_map="")
    assert "field 'unit': a enum point has unit 'enum', not 'bool'" in only_error(tmp_path, bad)
    bad = row("MET-01-kW", tag="X-1", protocol_address="40101", unit="bool", billing_role="",
              alarm_P3_high="")
    assert "field 'unit': an analog point needs a physical unit, not 'bool'" in only_error(tmp_path, bad)


def test_enum_map_must_be_json_with_integer_keys(tmp_path: Path) -> None:
    bad = row("LD-01a", tag="LD-01b", protocol_address="10002", enum_map="0=dry")
    assert "field 'enum_map': not a JSON object" in only_error(tmp_path, bad)
    bad = row("LD-01a", tag="LD-01b", protocol_address="10002", enum_map='{"dry": "0"}')
    assert "field 'enum_map': enum_map key 'dry' is not an integer" in only_error(tmp_path, bad)


def test_unknown_enumeration_value(tmp_path: Path) -> None:
    bad = row("MET-01-kW", tag="X-1", protocol_address="40101", billing_role="", subsystem="thermal")
    assert "field 'subsystem': 'thermal': Input should be 'electrical'" in only_error(tmp_path, bad)


def test_modbus_address_must_match_its_register_table(tmp_path: Path) -> None:
    bad = row("MET-01-kW", tag="X-1", protocol_address="40101", billing_role="", register_type="input")
    assert "field 'protocol_address': 40101 is not a input register (30001-39999)" in only_error(tmp_path, bad)


def test_bits_and_registers_need_matching_data_types(tmp_path: Path) -> None:
    bad = row("LD-01a", tag="LD-01b", protocol_address="10002", data_type="float32")
    assert "field 'data_type': discrete bits are data_type bool" in only_error(tmp_path, bad)


def test_word_order_only_for_multi_register_values(tmp_path: Path) -> None:
    bad = row("MET-01-kW", tag="X-1", protocol_address="40101", billing_role="", data_type="uint16")
    assert "field 'word_order': word_order applies to 32/64-bit values, not uint16" in only_error(tmp_path, bad)
    bad = row("MET-01-kW", tag="X-1", protocol_address="40101", billing_role="", word_order="BACD")
    assert "field 'word_order': 'BACD': Input should be 'ABCD', 'DCBA', 'BADC' or 'CDAB'" in only_error(
        tmp_path, bad)


def test_snmp_oid_and_syntax(tmp_path: Path) -> None:
    bad = row("UPS-01-load", tag="UPS-02-load", protocol_address=".1.3.6.1.4.1.318.1.1.1.4.2.4.0")
    assert "field 'protocol_address': '.1.3.6.1.4.1.318.1.1.1.4.2.4.0' is not a numeric OID" in only_error(
        tmp_path, bad)
    bad = row("UPS-01-load", tag="UPS-02-load", protocol_address="1.3.6.1.2.1.31.1.1.1.6.1",
              snmp_type="Counter64")
    assert "field 'data_type': Counter64 decodes as uint64, not uint32" in only_error(tmp_path, bad)


def test_bacnet_object_must_be_valid(tmp_path: Path) -> None:
    bad = row("TT-HOST", tag="TT-HOST-2", protocol_address="AI:1:2")
    assert "field 'protocol_address': 'AI:1:2' is not a BACnet object (e.g. analog-input,1)" in only_error(
        tmp_path, bad)


def test_protocol_points_need_address_and_device(tmp_path: Path) -> None:
    bad = row("MET-01-kW", tag="X-1", protocol_address="", billing_role="")
    assert "field 'protocol_address': a modbus-tcp point needs an address" in only_error(tmp_path, bad)


def test_header_must_start_with_the_reference_columns(tmp_path: Path) -> None:
    site_dir = write_site(tmp_path)
    csv_path = site_dir / "test-site" / "points" / "block-01.csv"
    csv_path.write_text(csv_path.read_text().replace("range_min,range_max", "range_max,range_min", 1))
    with pytest.raises(RegistryError) as info:
        load_site_files(site_dir)
    assert f"{CSV}:1: header column 9 is 'range_max', expected 'range_min'" in str(info.value)


def test_unknown_extra_column_is_rejected(tmp_path: Path) -> None:
    site_dir = write_site(tmp_path, rows=[])
    csv_path = site_dir / "test-site" / "points" / "block-01.csv"
    csv_path.write_text(HEADER + ",colour\n")
    with pytest.raises(RegistryError) as info:
        load_site_files(site_dir)
    assert f"{CSV}:1: unknown column 'colour'" in str(info.value)


def test_reference_shaped_file_loads_with_defaults(tmp_path: Path) -> None:
    """The 21 reference columns alone are enough (kind inferred from the unit, FLOAT32 accepted)."""
    reference_header = HEADER.split(",kind,")[0]
    rows = [
        "#,,,,,,,,,,,,,,,,,,,,",
        "# ─── comment rows and blank rows are skipped ───,,,,,,,,,,,,,,,,,,,,",
        "",
        'TX-01-T,"Transformer temp, winding",electrical,MET-01,mqtt,,,°C,-20,180,0.1,5000,,150,,130,,120,,,'
        '"multi-line\nnote"',
        "LD-09,Leak,thermal-safety,MET-01,mqtt,,,bool,0,1,1,1000,,1,,,,,,,",
    ]
    site_dir = write_site(tmp_path, rows=[])
    (site_dir / "test-site" / "points" / "block-01.csv").write_text(
        "\n".join([reference_header, *rows]) + "\n", encoding="utf-8")
    (site,) = load_site_files(site_dir)
    temp, leak = site.blocks[0].points
    assert (temp.kind, temp.scale, temp.deadband, temp.notes) == ("analog", 1.0, 0.0, "multi-line\nnote")
    assert leak.kind == "binary" and [(lim.priority, lim.direction) for lim in leak.limits] == [("P0", "high")]


def test_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    multi_line = row("MET-01-kW", tag="X-1", protocol_address="40101", billing_role="",
                     engineering_notes="first\nsecond")
    errors = errors_for(tmp_path, [*ROWS.values(), multi_line, row("MET-01-kW", tag="X-2", unit="F",
                                                                    protocol_address="40201", billing_role="")])
    assert len(errors) == 1 and errors[0].endswith(f"{CSV}:10: field 'unit': 'F' is not a canonical MCS unit")


def test_all_errors_are_reported_together(tmp_path: Path) -> None:
    errors = errors_for(tmp_path, [row("MET-01-kW", unit="degC"), row("UPS-01-load", alarm_P0_high="x"),
                                   row("TT-HOST", subsystem="bms")])
    assert [e.split(": field")[0].rsplit("/", 3)[-3:] for e in errors] == [
        ["test-site", "points", f"block-01.csv:{line}"] for line in (2, 3, 4)]
