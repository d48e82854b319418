"""SNMP agents answer plain pysnmp managers (v2c and v3 authPriv) with the model's values."""

from __future__ import annotations

import asyncio

import pytest
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    get_cmd,
    usmAesCfb128Protocol,
    usmHMACSHAAuthProtocol,
    walk_cmd,
)

from simulator.devices.snmp_agent import agents_for, start_agent
from simulator.live import LiveBlock

V3_AUTH, V3_PRIV = "sim-test-auth-key", "sim-test-priv-key"


def credentials(device) -> CommunityData | UsmUserData:
    p = device.params
    if str(p.get("version")) == "3":
        return UsmUserData(p["user"], V3_AUTH, V3_PRIV, authProtocol=usmHMACSHAAuthProtocol,
                           privProtocol=usmAesCfb128Protocol)
    return CommunityData(p["community"], mpModel=1)


async def get(manager, device, oids: list[str]):
    target = await UdpTransportTarget.create(("127.0.0.1", device.port), timeout=3, retries=1)
    err, status, _, binds = await get_cmd(manager, credentials(device), target, ContextData(),
                                          *[ObjectType(ObjectIdentity(o)) for o in oids])
    assert err is None and not status, f"{device.device_id}: {err or status.prettyPrint()}"
    return [b[1] for b in binds]


async def walk(manager, device, prefix: str):
    target = await UdpTransportTarget.create(("127.0.0.1", device.port), timeout=3, retries=1)
    out = []
    async for err, status, _, binds in walk_cmd(manager, credentials(device), target, ContextData(),
                                                 ObjectType(ObjectIdentity(prefix)), lexicographicMode=False):
        assert err is None and not status
        out += [(str(b[0]), b[1]) for b in binds]
    return out


@pytest.fixture
def v3_keys(monkeypatch):
    monkeypatch.setenv("SNMP_AUTH_PASS", V3_AUTH)
    monkeypatch.setenv("SNMP_PRIV_PASS", V3_PRIV)


def test_every_snmp_point_reads_back_the_model_value(live_block: LiveBlock, v3_keys):
    frozen = 1_790_000_000.0

    async def scenario():
        devices = agents_for(live_block.binding)
        agents = [start_agent(live_block.binding, d, live_block, clock=lambda: frozen) for d in devices]
        manager = SnmpEngine()
        try:
            results = {}
            for d in devices:
                points = [p for p in live_block.binding.points_of(d.device_id) if p.protocol == "snmp"]
                values = await get(manager, d, [p.address for p in points])
                results.update({p.tag: (p, v) for p, v in zip(points, values, strict=True)})
            sw01 = next(d for d in devices if d.device_id == "sw-01")
            pdu1 = next(d for d in devices if d.device_id == "pdu-01")
            if_rows = await walk(manager, sw01, "1.3.6.1.2.1.2.2.1")
            outlets = await walk(manager, pdu1, "1.3.6.1.4.1.13742.6.3.5.4.1.7.1")
            return results, if_rows, outlets
        finally:
            manager.close_dispatcher()
            for a in agents:
                a.close()

    results, if_rows, outlets = asyncio.run(scenario())
    assert len(results) >= 50
    for tag, (p, wire) in results.items():
        if p.snmp_type in ("Counter32", "Counter64") and p.kind == "analog":
            continue  # rate counters: checked below
        decoded = int(wire) * p.scale + p.value_offset
        assert decoded == pytest.approx(live_block.values[tag], abs=abs(p.scale) / 2 + 1e-9), tag
    assert results["UPS-01-mode"][1] == 2                              # APC onLine
    assert float(results["RK-01-kW"][1]) * 0.001 == pytest.approx(live_block.values["RK-01-kW"], abs=0.001)
    # The walkable tables: two uplink rows of ifTable, one outlet per rack of PDU-01.
    assert sum(1 for oid, _ in if_rows if oid.startswith("1.3.6.1.2.1.2.2.1.10.")) == 2
    assert len(outlets) == 5


def test_counter32_octets_wrap_and_give_the_rate(live_block: LiveBlock, v3_keys):
    """ifInOctets of the 1 GbE uplink (Counter32): the rate between two reads is the utilisation point."""
    times = iter([1_790_000_000.0, 1_790_000_030.0])
    now = {"t": next(times)}

    async def scenario():
        sw01 = next(d for d in agents_for(live_block.binding) if d.device_id == "sw-01")
        agent = start_agent(live_block.binding, sw01, live_block, clock=lambda: now["t"])
        manager = SnmpEngine()
        try:
            first = (await get(manager, sw01, ["1.3.6.1.2.1.2.2.1.10.2"]))[0]
            now["t"] = next(times)
            second = (await get(manager, sw01, ["1.3.6.1.2.1.2.2.1.10.2"]))[0]
            return int(first), int(second)
        finally:
            manager.close_dispatcher()
            agent.close()

    first, second = asyncio.run(scenario())
    delta = (second - first) % 2**32          # the poller's wrap rule
    rate_pct = delta / 30.0 * 8e-7            # registry scale of SW-01-uplink2-bw
    assert 3.0 < rate_pct < 30.0
    # at ~15 % of 1 Gb/s the 32-bit counter wraps every ~4 minutes: over a day it wraps hundreds of times
    assert 0 <= first < 2**32 and 0 <= second < 2**32


def test_silenced_agent_does_not_answer(live_block: LiveBlock):
    async def scenario():
        ups = next(d for d in agents_for(live_block.binding) if d.device_id == "ups-01")
        live_block.silenced = {"ups-01"}
        agent = start_agent(live_block.binding, ups, live_block)
        manager = SnmpEngine()
        try:
            target = await UdpTransportTarget.create(("127.0.0.1", ups.port), timeout=0.5, retries=0)
            err, _, _, _ = await get_cmd(manager, credentials(ups), target, ContextData(),
                                         ObjectType(ObjectIdentity("1.3.6.1.4.1.318.1.1.1.4.2.3.0")))
            return err
        finally:
            live_block.silenced = set()
            manager.close_dispatcher()
            agent.close()

    err = asyncio.run(scenario())
    assert err is not None and "timeout" in str(err).lower()
