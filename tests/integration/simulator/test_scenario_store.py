"""ops.sim_scenarios: start/stop/expiry as `mcs scenario` and the running simulator see them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from simulator import scenario_store
from simulator.cli import scenario
from tests.fixtures.registry import load_demo_sites


def test_start_stop_and_expiry(engine):
    load_demo_sites(engine, ("ab-baldwinsville",))
    first = scenario_store.start(engine, "ab-baldwinsville", "block-01", "leak_detected", {"zone": 2})
    scenario_store.start(engine, "ab-baldwinsville", "block-01", "PUMP_TRIP", duration_s=0.0)  # already over
    active = scenario_store.active(engine)
    assert [(a.id, a.name, a.params) for a in active] == [(first, "LEAK_DETECTED", {"zone": 2})]
    assert scenario_store.stop(engine, name="leak_detected") == 1
    assert scenario_store.active(engine) == []
    with pytest.raises(KeyError):
        scenario_store.start(engine, "ab-baldwinsville", "block-09", "PUMP_TRIP")
    with pytest.raises(KeyError):
        scenario_store.start(engine, "ab-baldwinsville", "block-01", "NO_SUCH_FAULT")


def test_cli_run_list_stop(engine, database_url, monkeypatch):
    load_demo_sites(engine, ("ab-baldwinsville",))
    monkeypatch.setenv("MCS_DATABASE_URL", database_url)
    from mcs.settings import get_settings

    get_settings.cache_clear()
    try:
        runner = CliRunner()
        out = runner.invoke(scenario, ["run", "COOLING_FAILURE", "--site", "ab-baldwinsville", "--block", "block-01",
                                       "--duration", "10m", "--param", "cdu=2"])
        assert out.exit_code == 0, out.output
        listed = runner.invoke(scenario, ["list"])
        assert "active: 1" in listed.output and '{"cdu": 2}' in listed.output
        stopped = runner.invoke(scenario, ["stop", "--site", "ab-baldwinsville"])
        assert "stopped 1 scenario(s)" in stopped.output
    finally:
        get_settings.cache_clear()
