"""The demo block with its device endpoints moved to free loopback ports, and a live model of it."""

from __future__ import annotations

import dataclasses
import time

import pytest

from mcs.local_services.broker import free_port
from simulator.live import LiveBlock
from simulator.registry_view import BlockBinding, bindings_from_sites
from tests.fixtures.registry import demo_site_definitions


def with_free_ports(binding: BlockBinding) -> BlockBinding:
    """Same devices, each distinct port replaced by a free one (RTU units keep sharing their gateway)."""
    ports: dict[int, int] = {}
    devices = {}
    for dev_id, dev in binding.devices.items():
        if dev.port is not None:
            ports.setdefault(dev.port, free_port())
        devices[dev_id] = dataclasses.replace(dev, port=ports.get(dev.port) if dev.port else None)
    return BlockBinding(binding.spec, devices, binding.points)


@pytest.fixture(scope="session")
def demo_binding() -> BlockBinding:
    sites = [s for s in demo_site_definitions() if s.site_id == "ab-baldwinsville"]
    return with_free_ports(bindings_from_sites(sites, seed=3)[0])


@pytest.fixture(scope="session")
def live_block(demo_binding: BlockBinding) -> LiveBlock:
    """The plant frozen at one instant, so values read over the wire can be compared exactly."""
    return LiveBlock(demo_binding, now=float(int(time.time())))
