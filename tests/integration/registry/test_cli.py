"""`mcs sites load` / `mcs points list` against a real database, through the real `mcs` CLI group."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcs.cli import cli
from mcs.settings import get_settings
from tests.fixtures.registry import DEMO_SITES_DIR


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("MCS_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_sites_load_prints_summary_and_is_idempotent(runner: CliRunner) -> None:
    first = runner.invoke(cli, ["sites", "load", "--sites-dir", str(DEMO_SITES_DIR)])
    assert first.exit_code == 0, first.output
    assert "2 site(s): points added=810 updated=0 retired=0 unchanged=0" in first.stdout
    second = runner.invoke(cli, ["sites", "load", "--sites-dir", str(DEMO_SITES_DIR)])
    assert second.exit_code == 0, second.output
    assert "points added=0 updated=0 retired=0 unchanged=810" in second.stdout


def test_points_list_json_and_table(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["sites", "load", "--sites-dir", str(DEMO_SITES_DIR)]).exit_code == 0
    result = runner.invoke(cli, ["points", "list", "--site", "ab-baldwinsville", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 270
    leak = next(r for r in rows if r["tag"] == "LD-01a")
    assert {k: leak[k] for k in ("site", "block", "subsystem", "unit", "kind")} == {
        "site": "ab-baldwinsville", "block": "block-01", "subsystem": "thermal-safety", "unit": "bool",
        "kind": "binary"}
    assert isinstance(leak["point_id"], int)
    assert leak["limits"] == [{"priority": "P0", "direction": "high", "value": 1.0}]

    table = runner.invoke(cli, ["points", "list", "--site", "rfg-foods-jhb", "--block", "block-02",
                                "--subsystem", "thermal-hx"])
    assert table.exit_code == 0, table.output
    lines = table.stdout.strip().splitlines()
    assert lines[0].split() == ["point_id", "site", "block", "subsystem", "tag", "unit", "kind", "protocol",
                                "address"]
    assert len(lines) == 1 + 14 and all("rfg-foods-jhb  block-02  thermal-hx" in line for line in lines[1:])


def test_sites_load_rejects_bad_files_and_loads_nothing(runner: CliRunner, tmp_path: Path) -> None:
    shutil.copytree(DEMO_SITES_DIR / "ab-baldwinsville", tmp_path / "ab-baldwinsville")
    schedule = tmp_path / "ab-baldwinsville" / "points" / "block-01.csv"
    schedule.write_text(schedule.read_text(encoding="utf-8").replace(",kVAr,", ",degC,", 1), encoding="utf-8")
    result = runner.invoke(cli, ["sites", "load", "--sites-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "block-01.csv:4: field 'unit': 'degC' is not a canonical MCS unit" in result.stderr
    listed = runner.invoke(cli, ["points", "list", "--json"])
    assert json.loads(listed.stdout) == []


def test_points_export_round_trips_the_registered_schedule(runner: CliRunner, tmp_path: Path) -> None:
    from mcs.registry.schedule import read_schedule
    from tests.fixtures.registry import demo_site_definitions

    assert runner.invoke(cli, ["sites", "load", "--sites-dir", str(DEMO_SITES_DIR)]).exit_code == 0
    out = tmp_path / "as-built.csv"
    result = runner.invoke(cli, ["points", "export", "--site", "rfg-foods-jhb", "--block", "block-02",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    exported, errors = read_schedule(out, str(out))
    assert errors == []
    original = next(s for s in demo_site_definitions() if s.site_id == "rfg-foods-jhb").blocks[1].points
    assert {s.point.tag: s.point for s in exported} == {p.tag: p for p in original}

    missing = runner.invoke(cli, ["points", "export", "--site", "rfg-foods-jhb", "--block", "block-09"])
    assert missing.exit_code == 1 and "no registered points for rfg-foods-jhb/block-09" in missing.output


def test_sites_load_dry_run_reports_and_writes_nothing(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["sites", "load", "--dry-run", "--sites-dir", str(DEMO_SITES_DIR)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("dry run, nothing written: 2 site(s): points added=810")
    assert json.loads(runner.invoke(cli, ["points", "list", "--json"]).stdout) == []


def test_points_unregistered_lists_held_readings_per_tag(runner: CliRunner, database_url: str) -> None:
    import psycopg

    with psycopg.connect(database_url) as conn:
        conn.execute("""
            INSERT INTO raw.unregistered_readings (site_id, block_id, subsystem, tag, ts, value, unit) VALUES
              ('ab-baldwinsville', 'block-01', 'thermal-l2', 'TT-NEW', '2026-11-01T10:00Z', 41.0, '°C'),
              ('ab-baldwinsville', 'block-01', 'thermal-l2', 'TT-NEW', '2026-11-01T10:01Z', 41.5, '°C'),
              ('rfg-foods-jhb', 'block-02', 'electrical', 'PM-NEW', '2026-11-01T10:00Z', 3.0, 'kW')
        """)
    result = runner.invoke(cli, ["points", "unregistered", "--site", "ab-baldwinsville", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["tag"], r["readings"], r["unit"]) for r in rows] == [("TT-NEW", 2, "°C")]
    assert rows[0]["first_ts"].startswith("2026-11-01 10:00") and rows[0]["last_ts"].startswith("2026-11-01 10:01")

    table = runner.invoke(cli, ["points", "unregistered"])
    assert table.exit_code == 0, table.output
    assert "TT-NEW" in table.stdout and "PM-NEW" in table.stdout
    assert "2 unregistered tag(s)" in table.stderr
