"""SNMP (v2c, v3 authPriv, GETBULK, counter wrap) and BACnet (RPM, RP fallback, COV, statusFlags) pollers
against the simulator's pysnmp agents and bacpypes3 device."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from ingest_daemons.pollers import bacnet, snmp
from ingest_daemons.pollers.base import BAD, GOOD, UNCERTAIN, WriteRefused
from mcs.local_services.broker import free_port
from simulator.model.readings import uplink_integral_pct_s
from tests.integration.edge.conftest import block_config, serve


def test_snmp_v2c_v3_bulk_and_counter_wrap(binding, live, v3_keys):
    cfg = block_config(binding, ("snmp",))
    # Two instants 30 s apart across which the 1 GbE uplink's 32-bit ifInOctets wraps.
    scale = next(p.scale for p in cfg.points if p.tag == "SW-01-uplink2-bw")
    t = 1_790_000_000.0
    while int(uplink_integral_pct_s(t + 30, 2) / scale) % 2**32 >= int(uplink_integral_pct_s(t, 2) / scale) % 2**32:
        t += 30
    clock = {"t": t}

    async def scenario():
        async with serve(live, ("snmp",), clock=lambda: clock["t"]):
            engine = SnmpEngine()
            try:
                pollers = snmp.pollers_for(cfg.devices, cfg.points, engine, clock=lambda: clock["t"])
                first = [s for p in pollers for s in await p.read()]
                clock["t"] += 30
                second = [s for p in pollers for s in await p.read()]
                plain = snmp.pollers_for(cfg.devices, cfg.points, engine, bulk=False, clock=lambda: clock["t"])
                for p in plain:
                    await p.read()
                plain_values = [s for p in plain for s in await p.read()]
                wrong = dataclasses.replace(next(d for d in cfg.devices if d.device_id == "ups-01"),
                                            params={"version": "2c", "community": "wrong", "timeout_s": 0.3,
                                                    "retries": 0})
                refused = await snmp.SnmpPoller(wrong, [p for p in cfg.points if p.device_id == "ups-01"],
                                                engine).read()
                return first, second, pollers, plain_values, refused
            finally:
                engine.close_dispatcher()

    first, second, pollers, plain_values, refused = asyncio.run(scenario())
    assert len(first) == len(cfg.points) and all(s.quality != BAD for s in first + second)
    by_tag = {s.tag: s for s in second}
    for p in cfg.points:
        if p.snmp_type in ("Counter32", "Counter64") and p.kind == "analog":
            continue
        assert by_tag[p.tag].value == pytest.approx(live.values[p.tag], abs=abs(p.scale) / 2 + 1e-9), p.tag
    assert all(s.quality == UNCERTAIN and s.value == 0 for s in first if s.tag.endswith("-bw"))  # no rate yet
    expected = (uplink_integral_pct_s(t + 30, 2) - uplink_integral_pct_s(t, 2)) / 30
    assert by_tag["SW-01-uplink2-bw"].value == pytest.approx(expected, abs=0.01)    # across the 2³² wrap
    assert 0 < by_tag["SW-01-uplink2-bw"].value < 100 and by_tag["SW-01-uplink2-bw"].quality == GOOD
    assert by_tag["SW-01-uplink1-bw"].quality == GOOD                               # v3 authPriv (Counter64)
    # GETBULK read the PDUs' outlet columns, with the same values as GETs of every OID.
    assert sum(p.bulk_requests for p in pollers) >= 2 * 3
    gauges = {s.tag: s.value for s in plain_values if not s.tag.endswith("-bw")}
    assert gauges == {s.tag: s.value for s in second if not s.tag.endswith("-bw")}
    assert refused and all(s.quality == BAD for s in refused)                       # wrong community: BAD
    assert not any(name.startswith(("set", "write")) for name in dir(snmp.SnmpPoller))
    assert "set_cmd" not in vars(snmp)


def test_bacnet_rpm_fallback_cov_and_status_flags(binding, live):
    cfg = block_config(binding, ("bacnet-ip",))
    cfg.devices = [dataclasses.replace(d, params={**d.params, "cov_lifetime_s": 2, "timeout_s": 1})
                   for d in cfg.devices]
    notified = []

    async def scenario():
        async with serve(live, ("bacnet",)) as servers:
            device = servers["bacnet"]
            poller = bacnet.pollers_for(cfg.devices, cfg.points, local_address=f"127.0.0.1/32:{free_port()}",
                                        on_samples=notified.extend)[0]
            try:
                rpm = await poller.read()
                requests_rpm = poller.requests_total
                device.objects["TT-HOST-hw-tank"].reliability = "no-sensor"        # statusFlags fault
                device.objects["TT-HOST-hw-supply"].outOfService = True             # statusFlags out-of-service
                flagged = await poller.read()
                ret = device.objects["TT-HOST-hw-return"]
                celsius = float(ret.presentValue)
                ret.units, ret.presentValue = "degreesFahrenheit", celsius * 9 / 5 + 32     # a US BMS
                device.objects["HOST-cnb-mode"].units = "kilowatts"                         # nonsense for an enum
                converted = await poller.read()
                ret.units, ret.presentValue = "degreesCelsius", celsius
                device.objects["HOST-cnb-mode"].units = "noUnits"
                before = live.by_device["host-bms"]["HOST-demand"]
                live.by_device["host-bms"]["HOST-demand"] = 1.0 - before
                device.refresh()
                for _ in range(60):                                                 # COV, and renewals (2 s)
                    await asyncio.sleep(0.1)
                    if poller.cov_renewals >= 2 and any(s.tag == "HOST-demand" and s.value != before
                                                        for s in notified):
                        break
                device.app.do_ReadPropertyMultipleRequest = None                    # a device without RPM
                fallback = await poller.read()
                with pytest.raises(WriteRefused):
                    poller.app.write_property(poller.address, poller.objects["HOST-demand"], "present-value", 1)
                device.stop()                                                       # the BMS leaves the network
                gone = await poller.read()
                return rpm, requests_rpm, flagged, converted, celsius, fallback, gone, before, poller
            finally:
                await poller.close()
                live.update(live.now)

    rpm, requests_rpm, flagged, converted, celsius, fallback, gone, before, poller = asyncio.run(scenario())
    assert len(rpm) == 8 and requests_rpm == 1
    for s in rpm:
        assert s.quality == GOOD and s.value == pytest.approx(live.values[s.tag], abs=1e-4), s.tag
    q = {s.tag: s.quality for s in flagged}
    assert q["TT-HOST-hw-tank"] == BAD and q["TT-HOST-hw-supply"] == UNCERTAIN and q["TT-HOST-hw-return"] == GOOD
    conv = {s.tag: s for s in converted}
    assert conv["TT-HOST-hw-return"].value == pytest.approx(celsius, abs=1e-3)          # °F → °C
    assert conv["TT-HOST-hw-return"].quality == GOOD and conv["HOST-cnb-mode"].quality == UNCERTAIN
    assert any(s.tag == "HOST-demand" and s.value == 1.0 - before for s in notified)    # change notified at once
    assert poller.cov_renewals >= 2 and poller.cov_errors == 0                          # finite lifetime, renewed
    assert poller.rpm_supported is False and len(fallback) == 8
    assert poller.requests_total - requests_rpm >= 16                                   # two ReadProperty per point
    assert {s.tag: s.quality for s in fallback}["TT-HOST-hw-tank"] == BAD
    assert all(s.quality == BAD for s in gone) and len(gone) == 8
