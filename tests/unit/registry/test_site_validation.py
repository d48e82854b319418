"""site.yaml and cross-file rules: errors name the YAML line and the field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcs.registry import RegistryError, load_site_files
from tests.unit.registry.sitekit import ROWS, SITE_YAML, row, write_site

YAML = "test-site/site.yaml"
CSV = "test-site/points/block-01.csv"


def load_errors(sites_dir: Path) -> list[str]:
    with pytest.raises(RegistryError) as info:
        load_site_files(sites_dir)
    return info.value.errors


def yaml_errors(tmp_path: Path, old: str, new: str) -> list[str]:
    assert old in SITE_YAML
    return load_errors(write_site(tmp_path, SITE_YAML.replace(old, new, 1)))


def test_site_id_regex_and_directory_name(tmp_path: Path) -> None:
    (message,) = yaml_errors(tmp_path, "site_id: test-site", "site_id: Test_Site")
    assert message.endswith(f"{YAML}:2: field 'site.site_id': 'Test_Site': String should match pattern "
                            "'^[a-z0-9][a-z0-9_-]{2,48}[a-z0-9]$'")
    (message,) = yaml_errors(tmp_path / "b", "site_id: test-site", "site_id: other-site")
    assert f"{YAML}:2: field 'site.site_id': 'other-site' must equal the directory name 'test-site'" in message


def test_block_id_regex(tmp_path: Path) -> None:
    (message,) = yaml_errors(tmp_path, "block_id: block-01\n", "block_id: block-1\n")
    assert f"{YAML}:10: field 'blocks.0.block_id': 'block-1': String should match pattern" in message


def test_timezone_must_be_iana(tmp_path: Path) -> None:
    (message,) = yaml_errors(tmp_path, "timezone: Europe/London", "timezone: GMT+2 Johannesburg")
    assert f"{YAML}:4: field 'site.timezone': 'GMT+2 Johannesburg' is not an IANA time zone" in message


def test_missing_and_unknown_keys(tmp_path: Path) -> None:
    errors = yaml_errors(tmp_path, "  currency: GBP\n", "  curency: GBP\n")
    assert any(f"{YAML}:2: field 'site.currency': is required" in e for e in errors)
    assert any(f"{YAML}:6: field 'site.curency': is not a known field" in e for e in errors)


def test_device_field_errors_point_at_the_device_line(tmp_path: Path) -> None:
    (message,) = yaml_errors(tmp_path, "port: 25020, unit_id: 1", "port: 99999, unit_id: 1")
    assert f"{YAML}:16: field 'blocks.0.devices.0.port': 99999: Input should be less than or equal to 65535" \
        in message
    (message,) = yaml_errors(tmp_path, "port: 25020, unit_id: 1", "port: 25020")
    assert f"{YAML}:16: field 'blocks.0.devices.0.unit_id': a Modbus device needs 'unit_id'" in message


def test_secrets_are_not_allowed_in_site_files(tmp_path: Path) -> None:
    (message,) = yaml_errors(tmp_path, "{version: 2c, community: ro}", "{version: 3, password: hunter2}")
    assert "field 'blocks.0.devices.1.params': 'password' must not be in a site file" in message


def test_contract_rules(tmp_path: Path) -> None:
    (message,) = yaml_errors(tmp_path, "racks: [RK-01]", "racks: [RK-99]")
    assert f"{YAML}:35: field 'contracts.0.racks': 'RK-99' is not equipment of block-01" in message
    errors = yaml_errors(tmp_path / "b", "    committed_kw: 70\n", "")
    assert any("field 'contracts.0': a colo_msa needs 'committed_kw'" in e for e in errors)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    (message,) = yaml_errors(tmp_path, "  grid_hz: 50\n", "  grid_hz: [50\n")
    assert f"{YAML}:8: invalid YAML" in message


def test_point_device_and_equipment_must_exist(tmp_path: Path) -> None:
    errors = load_errors(write_site(tmp_path, rows=[
        *ROWS.values(), row("MET-01-kW", tag="X-1", device="met-99", protocol_address="40101", billing_role=""),
        row("MET-01-kW", tag="X-2", equipment_parent="CDU-07", protocol_address="40201", billing_role="")]))
    assert len(errors) == 2
    assert f"{CSV}:8: field 'device': 'met-99' is not in the block's devices (block block-01)" in errors[0]
    assert f"{CSV}:9: field 'equipment_parent': 'CDU-07' is not in the block's equipment list" in errors[1]


def test_point_protocol_must_match_its_device(tmp_path: Path) -> None:
    (message,) = load_errors(write_site(tmp_path, rows=[*ROWS.values(), row(
        "MET-01-kW", tag="X-1", device="ups-01", protocol_address="40101", billing_role="")]))
    assert "field 'protocol': 'modbus-tcp' but device 'ups-01' speaks snmp" in message


def test_overlapping_modbus_registers(tmp_path: Path) -> None:
    # MET-01-kWh is an int64 at 40003..40006; a float at 40005 overlaps it.
    (message,) = load_errors(write_site(tmp_path, rows=[*ROWS.values(), row(
        "MET-01-kW", tag="X-1", protocol_address="40005", billing_role="")]))
    assert f"{CSV}:8: field 'protocol_address': registers 40005 (+2) overlap MET-01-kWh at 40003 on met-01" \
        in message


def test_same_register_in_another_table_does_not_overlap(tmp_path: Path) -> None:
    (site,) = load_site_files(write_site(tmp_path, rows=[*ROWS.values(), row(
        "MET-01-kW", tag="X-1", protocol_address="30001", register_type="input", billing_role="")]))
    assert len(site.blocks[0].points) == len(ROWS) + 1


def test_duplicate_oid_and_tag(tmp_path: Path) -> None:
    errors = load_errors(write_site(tmp_path, rows=[*ROWS.values(), row("UPS-01-load", tag="UPS-01-load2"),
                                                    row("NET-vpn")]))
    assert "field 'protocol_address': 1.3.6.1.4.1.318.1.1.1.4.2.3.0 is already read by UPS-01-load" in errors[0]
    assert f"{CSV}:9: field 'tag': 'NET-vpn' is already defined at" in errors[1]


def test_single_source_billing_role(tmp_path: Path) -> None:
    (message,) = load_errors(write_site(tmp_path, rows=[*ROWS.values(), row(
        "MET-01-kW", tag="MSB-01-kW", protocol_address="40101")]))
    assert "field 'billing_role': 'facility_power_kw' already belongs to MET-01-kW" in message


def test_point_files_must_exist_and_be_listed(tmp_path: Path) -> None:
    sites = write_site(tmp_path, csv_name="other.csv")
    errors = load_errors(sites)
    assert any(e.endswith(f"{YAML}:10: point schedule 'points/block-01.csv' not found in test-site")
               or "point schedule 'points/block-01.csv' not found" in e for e in errors)
    assert any("other.csv: point schedule is not listed under any block's 'points'" in e for e in errors)


def test_endpoints_must_be_unique_across_sites(tmp_path: Path) -> None:
    write_site(tmp_path)
    write_site(tmp_path, SITE_YAML.replace("test-site", "test-site-2").replace("C-1", "C-2"), site_id="test-site-2")
    errors = load_errors(tmp_path)
    assert any("test-site-2/block-01/met-01 uses 127.0.0.1:25020 unit 1, already used by test-site/block-01/met-01"
               in e for e in errors)


def test_contract_refs_are_unique_across_sites(tmp_path: Path) -> None:
    write_site(tmp_path)
    other = SITE_YAML.replace("test-site", "test-site-2")
    for old, new in (("25020", "35020"), ("26100", "36100"), ("57808", "57818")):
        other = other.replace(old, new)
    write_site(tmp_path, other, site_id="test-site-2")
    (message,) = load_errors(tmp_path)
    assert "field 'contract_ref': 'C-1' is already defined by site test-site" in message


def test_missing_sites_directory(tmp_path: Path) -> None:
    (message,) = load_errors(tmp_path / "nowhere")
    assert message.endswith("nowhere: sites directory does not exist")


def test_duplicate_yaml_keys_are_rejected(tmp_path: Path) -> None:
    (message,) = yaml_errors(tmp_path, "  grid_hz: 50\n", "  grid_hz: 50\n  grid_hz: 60\n")
    assert f"{YAML}:8: field 'site.grid_hz': key appears twice" in message


def test_files_must_be_utf8(tmp_path: Path) -> None:
    sites = write_site(tmp_path)
    (sites / "test-site" / "points" / "block-01.csv").write_bytes("tag,unit\n°C".encode("latin-1"))
    (message,) = load_errors(sites)
    assert f"{CSV}: not UTF-8 text" in message
