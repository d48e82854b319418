"""Edge poll cycle: every Modbus point of a demo block, coalesced requests vs one request per point.

    .venv/bin/python bench/edge_poll.py [--site ab-baldwinsville] [--cycles 30]

Serves the block's Modbus devices with the simulator's pymodbus servers on free loopback ports (no
database needed: the registry is read from sites/), then times full poll cycles of the edge's
ModbusPoller with coalescing on and off, in the same run. Also times one SNMP cycle (GET+GETBULK vs
GET only) and one BACnet RPM vs ReadProperty cycle. Prints ms/cycle, requests/cycle and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest_daemons.edge.config import from_rows  # noqa: E402
from ingest_daemons.pollers import bacnet, modbus, snmp  # noqa: E402
from mcs.local_services.broker import free_port  # noqa: E402
from mcs.registry import load_site_files  # noqa: E402
from simulator.devices.bacnet_device import BacnetDevice, bacnet_devices  # noqa: E402
from simulator.devices.modbus_server import endpoints_for, start_endpoint, stop_endpoint  # noqa: E402
from simulator.devices.snmp_agent import agents_for, start_agent  # noqa: E402
from simulator.live import LiveBlock  # noqa: E402
from simulator.registry_view import BlockBinding, bindings_from_sites  # noqa: E402

SITES_DIR = Path(__file__).resolve().parents[1] / "sites"


def free_ports(binding: BlockBinding) -> BlockBinding:
    ports: dict[int, int] = {}
    devices = {}
    for dev_id, dev in binding.devices.items():
        if dev.port is not None:
            ports.setdefault(dev.port, free_port())
        devices[dev_id] = dataclasses.replace(dev, port=ports.get(dev.port) if dev.port else None)
    return BlockBinding(binding.spec, devices, binding.points)


async def cycles(pollers: list, n: int) -> tuple[float, float, int]:
    for p in pollers:                       # warm-up: connect, discover
        await p.read()
    before = sum(p.requests_total for p in pollers)
    times = []
    samples = 0
    for _ in range(n):
        t0 = time.perf_counter()
        for p in pollers:
            samples += len(await p.read())
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, (sum(p.requests_total for p in pollers) - before) / n, samples // n


async def main(site: str, n: int) -> None:
    sites = [s for s in load_site_files(SITES_DIR) if s.site_id == site]
    binding = free_ports(bindings_from_sites(sites)[0])
    block = LiveBlock(binding, time.time())
    s, b = binding.key
    cfg = from_rows(s, b, "bench", list(binding.devices.values()), binding.points)
    endpoints = endpoints_for(binding, block)
    for ep in endpoints:
        await start_endpoint(ep)
    agents = [start_agent(binding, d, block) for d in agents_for(binding)]
    bms = BacnetDevice(binding, bacnet_devices(binding)[0], block)
    bms.start()
    try:
        print(f"{s}/{b}: {len(cfg.points)} polled points on {len(cfg.devices)} devices, {n} cycles each (median)")
        results = {}
        for label, coalesce in (("coalesced", True), ("per point", False)):
            pollers = modbus.pollers_for(cfg.devices, cfg.points, coalesce=coalesce)
            results[label] = await cycles(pollers, n)
            for p in pollers:
                await p.close()
        (c_ms, c_req, pts), (p_ms, p_req, _) = results["coalesced"], results["per point"]
        print(f"modbus  {pts} points   coalesced {c_ms:7.1f} ms/cycle {c_req:5.0f} requests | one request per point "
              f"{p_ms:7.1f} ms/cycle {p_req:5.0f} requests | speed-up {p_ms / c_ms:.1f}x, "
              f"requests {p_req / c_req:.1f}x")
        from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

        engine = SnmpEngine()
        snmp_res = {}
        for label, bulk in (("bulk", True), ("get", False)):
            snmp_res[label] = await cycles(snmp.pollers_for(cfg.devices, cfg.points, engine, bulk=bulk), max(n // 3, 3))
        engine.close_dispatcher()
        (b_ms, b_req, spts), (g_ms, g_req, _) = snmp_res["bulk"], snmp_res["get"]
        print(f"snmp    {spts} points   GET+GETBULK {b_ms:7.1f} ms/cycle {b_req:5.0f} requests | GET only "
              f"{g_ms:7.1f} ms/cycle {g_req:5.0f} requests | ratio {g_ms / b_ms:.2f}x")
        poller = bacnet.pollers_for(cfg.devices, cfg.points, local_address=f"127.0.0.1/32:{free_port()}", cov=False)[0]
        rpm = await cycles([poller], max(n // 3, 3))
        poller.rpm_supported = False
        rp = await cycles([poller], max(n // 3, 3))
        await poller.close()
        print(f"bacnet  {rpm[2]} points   RPM {rpm[0]:7.1f} ms/cycle {rpm[1]:5.0f} requests | ReadProperty "
              f"{rp[0]:7.1f} ms/cycle {rp[1]:5.0f} requests | speed-up {rp[0] / rpm[0]:.1f}x")
    finally:
        for ep in endpoints:
            await stop_endpoint(ep)
        for a in agents:
            a.close()
        bms.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", default="ab-baldwinsville")
    ap.add_argument("--cycles", type=int, default=30)
    args = ap.parse_args()
    asyncio.run(main(args.site, args.cycles))
