"""A minimal valid site on disk, for tests that break one thing at a time."""

from __future__ import annotations

from pathlib import Path

from mcs.registry.schedule import EXTRA_COLUMNS, REFERENCE_COLUMNS

HEADER = ",".join(REFERENCE_COLUMNS + EXTRA_COLUMNS)

# One valid row per protocol. Columns: 21 reference columns, then kind, device, register_type,
# word_order, snmp_type, scale, offset, enum_map, deadband, on_delay_s, off_delay_s, billing_role.
ROWS = {
    "MET-01-kW": "MET-01-kW,Revenue meter active power,electrical,MET-01,modbus-tcp,40001,float32,kW,0,2000,0.1,"
                 "5000,,,,,,,,1200,Billing meter,analog,met-01,holding,CDAB,,,,,20,10,10,facility_power_kw",
    "MET-01-kWh": "MET-01-kWh,Revenue meter energy,electrical,MET-01,modbus-tcp,40003,int64,kWh,0,99999999,0.1,"
                  "5000,,,,,,,,,,accumulator,met-01,holding,ABCD,,0.001,,,,,,facility_energy_kwh",
    "LD-01a": "LD-01a,Leak rope,thermal-safety,MET-01,modbus-tcp,10001,bool,bool,0,1,1,1000,,1,,,,,,,,binary,"
              "met-01,discrete,,,,,\"{\"\"0\"\": \"\"dry\"\", \"\"1\"\": \"\"leak\"\"}\",,0,0,",
    "UPS-01-load": "UPS-01-load,UPS load,electrical,UPS-01,snmp,1.3.6.1.4.1.318.1.1.1.4.2.3.0,uint32,%,0,100,0.1,"
                   "5000,,100,,95,,90,,,,analog,ups-01,,,Gauge32,0.1,,,1,10,10,",
    "TT-HOST": "TT-HOST,Host hot water,host-bms,HOST-BMS,bacnet-ip,analog-input:1,float32,°C,10,90,0.1,30000,,,,80,,"
               "70,,,,analog,host-bms,,,,,,,0.8,60,30,",
    "NET-vpn": "NET-vpn,VPN status,network,EDGE,mqtt,,,bool,0,1,1,30000,,,,,0,,,,,binary,edge,,,,,,,,60,30,",
}

SITE_YAML = """\
site:
  site_id: test-site
  name: Test site
  timezone: Europe/London
  country: GB
  currency: GBP
  grid_hz: 50
  grid_region: UK
blocks:
  - block_id: block-01
    name: Block 01
    it_capacity_kw: 1000
    rack_count: 14
    availability_class: B
    devices:
      - {device_id: met-01, protocol: modbus-tcp, host: 127.0.0.1, port: 25020, unit_id: 1}
      - {device_id: ups-01, protocol: snmp, host: 127.0.0.1, port: 26100, params: {version: 2c, community: ro}}
      - {device_id: host-bms, protocol: bacnet-ip, host: 127.0.0.1, port: 57808, params: {device_instance: 7}}
      - {device_id: edge, protocol: mqtt}
    equipment:
      - {tag: MET-01, type: revenue_meter, subsystem: electrical}
      - {tag: UPS-01, type: ups, subsystem: electrical}
      - {tag: HOST-BMS, type: host_bms, subsystem: host-bms}
      - {tag: EDGE, type: edge_gateway, subsystem: network}
      - {tag: RK-01, type: rack, subsystem: electrical}
contracts:
  - contract_ref: C-1
    kind: colo_msa
    counterparty: gpucloud
    block_id: block-01
    start_date: 2026-01-01
    currency: GBP
    availability_class: B
    committed_kw: 70
    racks: [RK-01]
"""


def write_site(root: Path, yaml_text: str = SITE_YAML, rows: list[str] | None = None,
               site_id: str = "test-site", csv_name: str = "block-01.csv") -> Path:
    """Write sites/<site_id>/site.yaml and points/<csv_name>; returns the sites directory."""
    site_dir = root / site_id
    (site_dir / "points").mkdir(parents=True, exist_ok=True)
    (site_dir / "site.yaml").write_text(yaml_text, encoding="utf-8")
    body = "\n".join([HEADER, *(ROWS.values() if rows is None else rows)]) + "\n"
    (site_dir / "points" / csv_name).write_text(body, encoding="utf-8")
    return root


def row(base: str, /, **changes: str) -> str:
    """A valid row with some columns replaced (by column name)."""
    import csv
    import io

    columns = list(REFERENCE_COLUMNS + EXTRA_COLUMNS)
    cells = next(csv.reader(io.StringIO(ROWS[base])))
    for column, value in changes.items():
        cells[columns.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue().removesuffix("\n")
