"""Direct MQTT publishing of a live block: `mqtt` points and mode/state messages (MCS MQTT v1).

Points whose protocol is `mqtt` have no device to poll (edge-measured WAN metrics, edge-derived
states): they are published at their poll rate on `microlink/{site}/{block}/{subsystem}/{tag}`
(QoS 0, retained, domain §3.3/§3.4). Mode transitions of the safety PLC are published once each on
`microlink/{site}/{block}/mode/state` (QoS 1, retained, §3.6), stamped with the transition time.

Payloads are built by `mcs.wire`, the one MCS MQTT v1 codec the edge and the ingestor also use, so
the simulator cannot drift from what the cloud accepts (ISO-8601 UTC with milliseconds and `Z`,
quality as GOOD/UNCERTAIN/BAD).
"""

from __future__ import annotations

import logging

import paho.mqtt.client as mqtt

from mcs import wire
from mcs.runtime import mqtt_host_port
from simulator.live import LiveBlock
from simulator.model.mode_fsm import Transition
from simulator.plant import UNCERTAIN
from simulator.registry_view import PointBinding

log = logging.getLogger(__name__)


def iso_ms(ts: float) -> str:
    return wire.format_ts(ts)


def telemetry_topic(site: str, block: str, p: PointBinding) -> str:
    return wire.telemetry_topic(site, block, p.subsystem, p.tag)


def telemetry_payload(ts: float, value: float, p: PointBinding, seq: int) -> bytes:
    q = 0
    if (p.range_min is not None and value < p.range_min) or (p.range_max is not None and value > p.range_max):
        q = UNCERTAIN
    return wire.encode_telemetry(wire.Reading(wire.as_datetime(ts), round(value, 6), p.unit, q, None, seq))


def mode_payload(tr: Transition) -> bytes:
    m = tr.message()
    return wire.encode_mode(wire.ModeState(wire.as_datetime(tr.ts), str(m["state"]), str(m["previous"]),
                                           str(m["trigger"]), m["valves"], m["guards"], m["operator"]))


class Publisher:
    def __init__(self, mqtt_url: str, client_id: str) -> None:
        host, port = mqtt_host_port(mqtt_url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        self.client.reconnect_delay_set(1, 30)
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()
        self.next_due: dict[tuple[str, str, str], float] = {}
        self.seq: dict[tuple[str, str, str], int] = {}
        self.published = 0

    def publish_due(self, block: LiveBlock, now: float) -> None:
        site, blk = block.key
        for p in block.binding.points:
            if p.protocol != "mqtt":
                continue
            key = (site, blk, p.tag)
            if now < self.next_due.get(key, 0.0):
                continue
            self.next_due[key] = now + p.poll_ms / 1000.0
            seq = self.seq.get(key, 0)
            self.seq[key] = seq + 1
            self.client.publish(telemetry_topic(site, blk, p), telemetry_payload(now, block.values[p.tag], p, seq),
                                qos=0, retain=True)
            self.published += 1

    def publish_transitions(self, block: LiveBlock, transitions: list[Transition]) -> None:
        site, blk = block.key
        for tr in transitions:
            self.client.publish(wire.mode_topic(site, blk), mode_payload(tr), qos=1, retain=True)
            log.info("%s/%s mode %s → %s (%s)", site, blk, tr.previous.name, tr.state.name, tr.trigger)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
