"""The demo block with its device endpoints moved to free loopback ports, and a live model of it."""

from __future__ import annotations

import time

import pytest

from simulator.live import LiveBlock
from simulator.registry_view import BlockBinding
from tests.fixtures.simulator import demo_block_binding


@pytest.fixture(scope="session")
def demo_binding() -> BlockBinding:
    return demo_block_binding(seed=3)


@pytest.fixture(scope="session")
def live_block(demo_binding: BlockBinding) -> LiveBlock:
    """The plant frozen at one instant, so values read over the wire can be compared exactly."""
    return LiveBlock(demo_binding, now=float(int(time.time())))
