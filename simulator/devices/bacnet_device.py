"""The host's BMS as a BACnet/IP device (bacpypes3): ReadProperty(Multiple) and COV subscriptions.

Objects come from the registry's `bacnet-ip` points (`object-type,instance` addresses); the object
name is the point tag. `refresh()` copies the live values into presentValue, and bacpypes3's COV
detection notifies subscribers when a binary changes or an analog moves by more than its COV
increment. During COMMS_LOSS the device leaves the network (its application is closed) and comes
back when the scenario stops.

Client note (bacpypes3): pass an `ObjectIdentifier`, not a string, to `change_of_value`, otherwise
notifications are refused as unknown subscriptions.
"""

from __future__ import annotations

import argparse
import logging

from bacpypes3.app import Application
from bacpypes3.local.analog import AnalogInputObject, AnalogValueObject
from bacpypes3.local.binary import BinaryInputObject, BinaryValueObject

from simulator.devices.modbus_server import ValueSource
from simulator.registry_view import BlockBinding, DeviceBinding, PointBinding

log = logging.getLogger(__name__)

OBJECT_CLASSES = {"analog-input": AnalogInputObject, "analog-value": AnalogValueObject,
                  "binary-input": BinaryInputObject, "binary-value": BinaryValueObject}
UNITS = {"°C": "degreesCelsius", "%": "percent", "kW": "kilowatts", "kPa": "kilopascals"}
VENDOR_ID = 999  # bacpypes3's default ASHRAE vendor id for its own device classes


def parse_address(address: str) -> tuple[str, int]:
    kind, _, instance = address.replace(":", ",").partition(",")
    return kind.strip(), int(instance)


def make_object(p: PointBinding):
    kind, instance = parse_address(p.address or "")
    cls = OBJECT_CLASSES[kind]
    if kind.startswith("binary"):
        return cls(objectIdentifier=(kind, instance), objectName=p.tag, presentValue="inactive",
                   description=p.tag)
    return cls(objectIdentifier=(kind, instance), objectName=p.tag, presentValue=0.0,
               units=UNITS.get(p.unit, "noUnits"), covIncrement=p.precision or 0.1, description=p.tag)


class BacnetDevice:
    def __init__(self, binding: BlockBinding, device: DeviceBinding, source: ValueSource) -> None:
        self.binding, self.device, self.source = binding, device, source
        self.points = [p for p in binding.points_of(device.device_id) if p.protocol == "bacnet-ip" and p.address]
        self.app: Application | None = None
        self.objects: dict[str, object] = {}
        self.binary = {p.tag for p in self.points if parse_address(p.address or "")[0].startswith("binary")}

    def start(self) -> None:
        """Join the network (needs a running asyncio loop)."""
        instance = int(self.device.params.get("device_instance", 100))
        args = argparse.Namespace(vendoridentifier=VENDOR_ID, instance=instance,
                                  name=f"{self.binding.key[0]}-{self.binding.key[1]}-bms",
                                  address=f"{self.device.host or '127.0.0.1'}/32:{self.device.port}",
                                  network=0, foreign=None, bbmd=None, ttl=30)
        self.app = Application.from_args(args)
        self.objects = {}
        for p in self.points:
            obj = make_object(p)
            self.app.add_object(obj)
            self.objects[p.tag] = obj
        self.refresh()
        log.info("bacnet %s device %d on udp %s:%s (%d objects)", self.device.device_id, instance,
                 self.device.host, self.device.port, len(self.objects))

    def stop(self) -> None:
        if self.app is not None:
            self.app.close()
            self.app = None

    def refresh(self) -> None:
        """Copy live values into the objects; leave or rejoin the network on COMMS_LOSS changes."""
        silenced = self.source.is_silenced(self.device.device_id)
        if silenced and self.app is not None:
            self.stop()
        elif not silenced and self.app is None:
            self.start()
            return
        if self.app is None:
            return
        values = self.source.device_values(self.device.device_id)
        for tag, obj in self.objects.items():
            v = values.get(tag)
            if v is None:
                continue
            if tag in self.binary:
                new = "active" if v >= 0.5 else "inactive"
                if str(obj.presentValue) != new:
                    obj.presentValue = new
            elif obj.presentValue != float(v):
                obj.presentValue = float(v)


def bacnet_devices(binding: BlockBinding) -> list[DeviceBinding]:
    return [d for d in binding.devices.values() if d.protocol == "bacnet-ip" and d.port]
