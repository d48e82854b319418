"""Commands from mcs.commands to a running edge and back, over a real broker; the simulated PLC's mode path."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import orjson
import pytest
from sqlalchemy import text

from ingest_daemons.edge.runner import EdgeRunner
from mcs.commands import command_status, expire_commands, request_command
from mcs.local_services.broker import free_port
from mcs.runtime import UserError
from mcs.wire import decode_mode, decode_response
from simulator import scenario_store
from tests.fixtures.registry import load_demo_sites
from tests.integration.edge.conftest import Recorder, block_config, edge_settings, serve

SITE, BLOCK = "ab-baldwinsville", "block-01"


def responses(rec: Recorder) -> list:
    return [decode_response(m[1]) for m in rec.where("/command/response")]


def test_command_round_trip(binding, live, broker, engine, tmp_path, v3_keys):
    load_demo_sites(engine, ("ab-baldwinsville",))
    cfg = block_config(binding)
    reduced = dataclasses.replace(cfg, points=[p for p in cfg.points if p.tag != "CT-pH"])
    out: dict[str, object] = {}

    async def ask(rec: Recorder, cmd: str, params: dict, source: str = "operator:test"):
        t0 = time.monotonic()
        rid = await asyncio.to_thread(request_command, engine, broker.url, SITE, BLOCK, cmd, params, source)
        got = await rec.wait_for("/command/response", 1, timeout_s=12,
                                 match=lambda m: orjson.loads(m[1])["request_id"] == rid)
        return rid, (decode_response(got[0][1]) if got else None), time.monotonic() - t0

    async def scenario():
        rec = Recorder(broker.url, topic=f"microlink/{SITE}/{BLOCK}/command/#")
        async with serve(live):
            runner = EdgeRunner(cfg, broker.url, tmp_path, edge_settings(), reload=lambda: reduced,
                                bacnet_local_address=f"127.0.0.1/32:{free_port()}")
            await runner.start()
            try:
                await asyncio.sleep(1.5)
                out["diag"] = await ask(rec, "diagnostics_request", {})
                out["status_after_send"] = command_status(engine, out["diag"][0])
                await asyncio.sleep(2.0)                       # anything more would be a response storm
                out["responses_after_diag"] = len(rec.where("/command/response"))
                out["commands_seen"] = len([m for m in rec.messages if not m[0].endswith("/response")])
                # A redelivered command (same request_id) is answered again, not executed again.
                handled = runner.commands.handled
                original = [m for m in rec.messages if m[0].endswith("/command/edge")][0]
                rec.client.publish(original[0], original[1], qos=1)
                await rec.wait_for("/command/response", 2, timeout_s=5,
                                   match=lambda m: orjson.loads(m[1])["request_id"] == out["diag"][0])
                out["handled_delta"] = runner.commands.handled - handled
                out["restart"] = await ask(rec, "adapter_restart", {"adapter": "modbus"})
                out["flush"] = await ask(rec, "buffer_flush", {})
                out["reload"] = await ask(rec, "config_reload", {})
                out["export"] = await ask(rec, "mode_override", {"target_mode": "EXPORT", "reason": "test"})
                out["reject"] = await ask(rec, "mode_override", {"target_mode": "REJECT", "reason": "test"})
                out["ack"] = await ask(rec, "alarm_ack_sync", {"alarm_id": "x"})
                rec.client.publish(f"microlink/{SITE}/{BLOCK}/command/edge",
                                   b'{"cmd":"reboot","request_id":"3f6a2c1e-8b7d-4e0f-9a51-2d4c7b9e0f13"}', qos=1)
                bad = await rec.wait_for("/command/response", 1, timeout_s=5,
                                         match=lambda m: b"3f6a2c1e" in m[1])
                out["invalid"] = decode_response(bad[0][1]) if bad else None
                out["points_after_reload"] = len(runner.cfg.points)
            finally:
                await runner.stop()
        rec.close()

    asyncio.run(scenario())
    rid, resp, elapsed = out["diag"]
    print(f"diagnostics_request round trip {elapsed:.2f} s")
    assert resp is not None and resp.status == "accepted" and elapsed < 10       # commissioning: < 10 s
    probes = resp.result["probes"]
    assert len(probes) == 25 and all(p["ok"] for p in probes.values()), probes   # 18 Modbus, 6 SNMP, 1 BACnet
    assert resp.result["broker"]["connected"] is True and resp.result["edge_id"] == "edge-test-01"
    assert out["status_after_send"]["status"] == "sent" and out["status_after_send"]["target"] == "edge"
    assert out["responses_after_diag"] == 1 and out["commands_seen"] == 1         # no response storm
    assert out["handled_delta"] == 0
    assert out["restart"][1].status == "accepted" and out["restart"][1].result["devices"] == 18
    assert out["flush"][1].status == "accepted" and out["flush"][1].result["cloud_connected"] is True
    reload = out["reload"][1]
    assert reload.status == "accepted" and reload.result["removed"] == ["CT-pH"]
    assert out["points_after_reload"] == len(cfg.points) - 1
    assert out["export"][1].status == "rejected" and "REJECT" in out["export"][1].reason
    assert out["reject"][1].status == "rejected" and "no PLC request interface" in out["reject"][1].reason
    assert out["ack"][1].status == "rejected"
    assert out["invalid"] is not None and out["invalid"].status == "rejected"
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('ops.audit_log') IS NOT NULL")).scalar():
            audit = conn.execute(text("SELECT actor, action FROM ops.audit_log WHERE target = :rid"),
                                 {"rid": rid}).all()
            assert [tuple(r) for r in audit] == [("operator:test", "command.diagnostics_request")]
    for bad in (dict(cmd="reboot", params={}), dict(cmd="mode_override", params={"target_mode": "REJECT"}),
                dict(cmd="diagnostics_request", params={}, block_id="block-99")):
        with pytest.raises(UserError):
            request_command(engine, broker.url, SITE, bad.pop("block_id", BLOCK), bad["cmd"], bad["params"], "op:x")
    # Unanswered commands time out (no edge runs for rfg-foods-jhb here).
    load_demo_sites(engine, ("rfg-foods-jhb",))
    lost = request_command(engine, broker.url, "rfg-foods-jhb", "block-02", "diagnostics_request", {}, "operator:test")
    assert command_status(engine, lost)["status"] == "sent"
    assert expire_commands(engine, older_than_s=0) >= 1
    assert command_status(engine, lost)["status"] == "timed_out"


def test_mode_override_reaches_the_simulated_plc_and_the_mode_change_is_published(binding, live, broker, engine,
                                                                                     tmp_path, database_url):
    """MAINTENANCE requested → the simulated PLC (scenario store) switches → register 45403 → mode/state."""
    load_demo_sites(engine, ("ab-baldwinsville",))
    cfg = block_config(binding, ("modbus-rtu", "modbus-tcp"))     # the safety PLC, valves, loop 2
    block = live            # the session's block, now run live (the other tests compare within one test only)
    out: dict[str, object] = {}

    async def plant():
        while True:                                              # what `mcs simulate` does for this block
            block.set_scenarios(await asyncio.to_thread(scenario_store.active, engine))
            block.update(time.time())
            await asyncio.sleep(0.3)

    async def scenario():
        rec = Recorder(broker.url, topic=f"microlink/{SITE}/{BLOCK}/#")
        task = asyncio.create_task(plant())
        async with serve(block, ("modbus",)):
            runner = EdgeRunner(cfg, broker.url, tmp_path, edge_settings(plc_requests="auto", mode_messages="on"),
                                database_url=database_url)
            await runner.start()
            try:
                await asyncio.sleep(1.5)
                out["before"] = runner.mode.mode
                rid = await asyncio.to_thread(request_command, engine, broker.url, SITE, BLOCK, "mode_override",
                                              {"target_mode": "MAINTENANCE", "reason": "pump seal"}, "operator:nick")
                got = await rec.wait_for("/command/response", 1, timeout_s=12,
                                         match=lambda m: orjson.loads(m[1])["request_id"] == rid)
                out["resp"] = decode_response(got[0][1]) if got else None
                modes = await rec.wait_for("/mode/state", 1, timeout_s=5)
                out["mode"] = decode_mode(modes[-1][1]) if modes else None
            finally:
                await runner.stop()
                task.cancel()
                scenario_store.stop(engine, SITE, BLOCK)
                block.set_scenarios([])
                block.update(time.time())
        rec.close()

    asyncio.run(scenario())
    assert out["before"] in ("REJECT", "EXPORT", "MIXED")
    resp = out["resp"]
    assert resp is not None and resp.status == "accepted", resp
    assert resp.result["confirmed"] is True and resp.result["observed_mode"] == "MAINTENANCE"
    mode = out["mode"]
    assert mode is not None and mode.state == "MAINTENANCE" and mode.previous == out["before"]
    assert mode.trigger == "operator:maintenance" and mode.operator is not None
    assert set(mode.valves) == {"v_exp", "v_rej"} and mode.guards["loop2_supply_temp"] is not None
