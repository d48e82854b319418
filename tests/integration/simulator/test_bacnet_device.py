"""The host BMS answers a plain bacpypes3 client: ReadPropertyMultiple and COV notifications."""

from __future__ import annotations

import argparse
import asyncio

import pytest
from bacpypes3.app import Application
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier

from mcs.local_services.broker import free_port
from simulator.devices.bacnet_device import BacnetDevice, bacnet_devices
from simulator.live import LiveBlock


def client_app() -> Application:
    args = argparse.Namespace(vendoridentifier=999, instance=990_001, name="test-client",
                              address=f"127.0.0.1/32:{free_port()}", network=0, foreign=None, bbmd=None, ttl=30)
    return Application.from_args(args)


def test_read_property_multiple_and_cov(live_block: LiveBlock):
    device_binding = bacnet_devices(live_block.binding)[0]
    points = [p for p in live_block.binding.points_of(device_binding.device_id) if p.protocol == "bacnet-ip"]

    async def scenario():
        device = BacnetDevice(live_block.binding, device_binding, live_block)
        device.start()
        client = client_app()
        address = Address(f"127.0.0.1:{device_binding.port}")
        try:
            request = []
            for p in points:
                request += [p.address, ["present-value", "object-name"]]
            rpm = await asyncio.wait_for(client.read_property_multiple(address, request), 10)
            notified = []
            demand = next(p for p in points if p.tag == "HOST-demand")
            async with client.change_of_value(address, ObjectIdentifier(demand.address), 42, True, 300) as scm:
                await asyncio.sleep(0.3)
                before = live_block.by_device[device_binding.device_id]["HOST-demand"]
                live_block.by_device[device_binding.device_id]["HOST-demand"] = 1.0 - before
                device.refresh()
                while len(notified) < 4:   # the initial notification may or may not arrive first
                    prop, value = await asyncio.wait_for(scm.get_value(), 10)
                    notified.append((str(prop), str(value)))
                    if str(prop) == "present-value" and str(value) == ("active" if before < 0.5 else "inactive"):
                        break
            return rpm, notified, before
        finally:
            client.close()
            device.stop()

    expected_values = dict(live_block.values)
    try:
        rpm, notified, before = asyncio.run(scenario())
    finally:
        live_block.update(live_block.now)  # restore the by-device value the test flipped
    values = {}
    names = {}
    for objid, prop, _, value in rpm:
        if str(prop) == "present-value":
            values[objid] = value
        else:
            names[objid] = str(value)
    assert len(values) == len(points) == 8
    by_tag = {names[o]: v for o, v in values.items()}
    for p in points:
        expected = expected_values[p.tag]
        got = by_tag[p.tag]
        if p.data_type == "bool":
            assert (str(got) == "active") == (expected >= 0.5), p.tag
        else:
            assert float(got) == pytest.approx(expected, abs=1e-4), p.tag
    expected_after = "active" if before < 0.5 else "inactive"
    assert ("present-value", expected_after) in notified
