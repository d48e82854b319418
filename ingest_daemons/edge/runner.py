"""One edge = one block: pollers by poll group, telemetry/mode/heartbeat out through the spool, commands in.

Poll groups come from the registry's `poll_ms` (safety 1 s, fast 2 s, normal 5 s, slow 30 s, or a
point's own rate): every (poller, poll_ms) pair is a task on an absolute schedule; a cycle that
overruns skips the missed ticks rather than bunching them. Each reading is published as MCS v1
telemetry on `microlink/{site}/{block}/{subsystem}/{tag}` at QoS 1 (not the contract's QoS 0, which
can lose readings), retained as the contract says, with a per-point `seq` that restarts with the
edge. A value older than 2× its poll interval when published is UNCERTAIN (stale).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from bacpypes3.apdu import ErrorRejectAbortNack

from ingest_daemons.edge import heartbeat, plc
from ingest_daemons.edge.commands import CommandHandler
from ingest_daemons.edge.config import BlockConfig, EdgeSettings
from ingest_daemons.edge.mode import ModeTracker
from ingest_daemons.edge.spool import Message, Spool
from ingest_daemons.edge.uplink import Uplink, publisher_of
from ingest_daemons.pollers import bacnet, modbus, snmp
from ingest_daemons.pollers.base import AdapterStats, PointSpec, Sample, stale_quality
from mcs.wire import (
    Reading,
    WireError,
    as_datetime,
    command_topic,
    decode_mode,
    encode_heartbeat,
    encode_mode,
    encode_telemetry,
    heartbeat_topic,
    mode_topic,
    parse_topic,
    telemetry_topic,
)

log = logging.getLogger(__name__)


async def _cancel(tasks: list[asyncio.Task], what: str, timeout_s: float = 5.0) -> None:
    """Cancel tasks and wait for them, at most timeout_s (a task that swallows cancellation is logged)."""
    for t in tasks:
        t.cancel()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=timeout_s)
        if pending:
            log.error("%s: %d tasks did not stop within %.0f s: %s", what, len(pending), timeout_s,
                      ", ".join(t.get_name() for t in pending))


@dataclass
class Adapter:
    name: str
    pollers: list[Any] = field(default_factory=list)
    stats: AdapterStats = field(default_factory=AdapterStats)
    tasks: list[asyncio.Task] = field(default_factory=list)


class EdgeRunner:
    def __init__(self, cfg: BlockConfig, mqtt_url: str, data_dir: Path, settings: EdgeSettings | None = None, *,
                 database_url: str | None = None, reload: Callable[[], BlockConfig] | None = None,
                 bacnet_local_address: str | None = None) -> None:
        self.cfg = cfg
        self.mqtt_url = mqtt_url
        self.data_dir = Path(data_dir)
        self.settings = settings or EdgeSettings()
        self.database_url = database_url
        self.reload = reload
        self.bacnet_local_address = bacnet_local_address
        self.started = time.monotonic()
        self.adapters: dict[str, Adapter] = {}
        self.points: dict[str, PointSpec] = {}
        self.seq: dict[str, int] = defaultdict(int)
        self.mode = ModeTracker(self.settings.mode_messages, self.settings.mode_grace_s)
        self.commands = CommandHandler(self)
        self.plc: plc.PlcRequests = plc.NoPlcInterface()
        self.uplink: Uplink | None = None
        self.tasks: list[asyncio.Task] = []
        self.snmp_engine = None
        self.published = 0
        self.overruns = 0
        self._inbound: set[asyncio.Task] = set()

    # -- lifecycle ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        cfg, s = self.cfg, self.settings
        spool = Spool(cfg.spool_path(self.data_dir), s.spool_capacity)
        targets = [t.strip() for t in s.command_targets.split(",") if t.strip() and t.strip() != "response"]
        subs = tuple(command_topic(cfg.site_id, cfg.block_id, t) for t in targets)
        if self.mode.policy == "auto":
            subs += (mode_topic(cfg.site_id, cfg.block_id),)
        client_id = f"{cfg.edge_id}-{cfg.block_id}" if cfg.block_id not in cfg.edge_id else cfg.edge_id
        self.uplink = Uplink(self.mqtt_url, client_id, spool, window=s.window, subscriptions=subs,
                             on_message=self._on_message)
        await self.uplink.start()
        self.plc = await asyncio.to_thread(plc.load, s.plc_requests, cfg.site_id, cfg.block_id, self.database_url)
        self._build_adapters()
        for a in self.adapters.values():
            await self._start_adapter(a)
        self.tasks = [asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
                      asyncio.create_task(self._mode_loop(), name="mode")]
        log.info("edge %s %s: %d points on %d devices (%s); %d registry points published by others (%s)",
                 cfg.edge_id, cfg.key, len(cfg.points), len(cfg.devices),
                 ", ".join(f"{n} {len(a.pollers)}" for n, a in self.adapters.items()), len(cfg.unpolled),
                 "mqtt/derived")

    async def stop(self) -> None:
        """Stop polling, then let the uplink drain; every step is bounded so SIGTERM always ends the edge."""
        await _cancel(self.tasks, "edge tasks")
        for a in list(self.adapters.values()):
            try:
                await asyncio.wait_for(self._stop_adapter(a), 10)
            except TimeoutError:
                log.error("adapter %s did not stop within 10 s; leaving it", a.name)
            except Exception:  # noqa: BLE001 — a failing close must not keep the spool from draining
                log.exception("adapter %s failed to stop cleanly", a.name)
        if self.snmp_engine is not None:
            self.snmp_engine.close_dispatcher()
            self.snmp_engine = None
        if self.uplink is not None:
            self.send_heartbeat()
            await self.uplink.stop()
            self.uplink.spool.close()

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()

    # -- adapters ----------------------------------------------------------------------------------------
    def _build_adapters(self, only: str | None = None) -> None:
        cfg = self.cfg
        self.points = {p.tag: p for p in cfg.points}
        if only in (None, "modbus"):
            self.adapters["modbus"] = Adapter("modbus", modbus.pollers_for(cfg.devices, cfg.points))
        if only in (None, "snmp"):
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

            if self.snmp_engine is None:
                self.snmp_engine = SnmpEngine()
            self.adapters["snmp"] = Adapter("snmp", snmp.pollers_for(cfg.devices, cfg.points, self.snmp_engine))
        if only in (None, "bacnet"):
            local = self.bacnet_local_address
            if local is None and self.settings.bacnet_client_port:
                local = f"127.0.0.1/32:{self.settings.bacnet_client_port}"
            self.adapters["bacnet"] = Adapter("bacnet", bacnet.pollers_for(
                cfg.devices, cfg.points, local_address=local, on_samples=self._on_cov))
        for name in [n for n, a in self.adapters.items() if not a.pollers]:
            del self.adapters[name]

    async def _start_adapter(self, a: Adapter) -> None:
        a.stats.running = True
        for poller in a.pollers:
            if hasattr(poller, "start"):
                try:
                    await poller.start()
                except OSError as exc:     # e.g. the BACnet client port is taken: its reads retry and go BAD
                    log.error("%s %s not started: %s", a.name, getattr(poller, "device", ""), exc)
            groups: dict[int, list[str]] = defaultdict(list)
            for tag, p in poller.points.items():
                groups[p.poll_ms].append(tag)
                a.stats.online.setdefault(p.device_id or "?", True)
            for poll_ms, tags in sorted(groups.items()):
                a.tasks.append(asyncio.create_task(self._poll_loop(a, poller, sorted(tags), poll_ms / 1000.0),
                                                   name=f"poll-{a.name}-{poll_ms}"))

    async def _stop_adapter(self, a: Adapter) -> None:
        await _cancel(a.tasks, f"{a.name} pollers")
        a.tasks = []
        for poller in a.pollers:
            try:
                await asyncio.wait_for(poller.close(), 5)
            except (Exception, asyncio.CancelledError) as exc:  # noqa: BLE001 — log and go on closing the rest
                if isinstance(exc, asyncio.CancelledError) and asyncio.current_task().cancelling():
                    raise
                log.warning("%s poller close: %s", a.name, exc or type(exc).__name__)
        a.stats.running = False

    async def restart_adapter(self, name: str) -> int:
        """Close and re-create one adapter's pollers (fresh connections), keeping its counters."""
        old = self.adapters[name]
        await self._stop_adapter(old)
        self._build_adapters(only=name)
        new = self.adapters.get(name)
        if new is None:
            return 0
        new.stats = old.stats
        await self._start_adapter(new)
        log.info("adapter %s restarted (%d pollers)", name, len(new.pollers))
        return sum(len({p.device_id for p in poller.points.values()}) for poller in new.pollers)

    async def reload_config(self) -> dict[str, Any]:
        assert self.reload is not None
        new_cfg = await asyncio.to_thread(self.reload)
        old = {p.tag: p for p in self.cfg.points}
        new = {p.tag: p for p in new_cfg.points}
        diff = {"points": len(new), "devices": len(new_cfg.devices), "added": sorted(new.keys() - old.keys()),
                "removed": sorted(old.keys() - new.keys()),
                "changed": sorted(t for t in new.keys() & old.keys() if new[t] != old[t])}
        for a in list(self.adapters.values()):
            await self._stop_adapter(a)
        stats = {n: a.stats for n, a in self.adapters.items()}
        self.cfg = new_cfg
        self.adapters = {}
        self._build_adapters()
        for n, a in self.adapters.items():
            a.stats = stats.get(n, a.stats)
            a.stats.online = {}
            await self._start_adapter(a)
        log.info("registry reloaded: %d points (+%d −%d ~%d)", len(new), len(diff["added"]), len(diff["removed"]),
                 len(diff["changed"]))
        return diff

    def probe_targets(self) -> list[tuple[str, Any, str]]:
        out = []
        for a in self.adapters.values():
            for poller in a.pollers:
                for dev in sorted({p.device_id for p in poller.points.values() if p.device_id}):
                    out.append((a.name, poller, dev))
        return out

    # -- polling -----------------------------------------------------------------------------------------
    async def _poll_loop(self, a: Adapter, poller: Any, tags: list[str], period_s: float) -> None:
        loop = asyncio.get_running_loop()
        next_t = loop.time()
        while True:
            try:
                samples = await poller.read(tags)
            except (Exception, ErrorRejectAbortNack) as exc:  # noqa: BLE001 — a poller bug must not stop the edge
                log.exception("%s poll failed", a.name)
                samples = [Sample(t, time.time(), poller.last_good.values.get(t, 0.0), 2, str(exc)) for t in tags]
            self._record(a, samples)
            self.publish_samples(samples)
            next_t += period_s
            now = loop.time()
            if next_t <= now:
                missed = int((now - next_t) // period_s) + 1
                self.overruns += missed
                next_t += missed * period_s
            await asyncio.sleep(next_t - now)

    def _record(self, a: Adapter, samples: list[Sample]) -> None:
        by_device: dict[str, list[Sample]] = defaultdict(list)
        for s in samples:
            p = self.points.get(s.tag)
            by_device[(p.device_id if p else None) or "?"].append(s)
        for dev, ss in by_device.items():
            a.stats.record(dev, ss)

    def _on_cov(self, samples: list[Sample]) -> None:
        a = self.adapters.get("bacnet")
        if a is not None:
            self._record(a, samples)
        self.publish_samples(samples)

    def publish_samples(self, samples: list[Sample]) -> None:
        if self.uplink is None or not samples:
            return
        cfg = self.cfg
        now = time.time()
        msgs = []
        for s in samples:
            p = self.points.get(s.tag)
            if p is None:
                continue
            seq = self.seq[s.tag]
            self.seq[s.tag] = seq + 1
            q = stale_quality(s.quality, s.ts, p.poll_ms, now)
            try:
                payload = encode_telemetry(Reading(as_datetime(s.ts), s.value, p.unit, q, None, seq))
            except WireError as exc:          # a non-finite value cannot travel: publish BAD instead
                payload = encode_telemetry(Reading(as_datetime(s.ts), 0.0, p.unit, 2, None, seq))
                log.warning("%s: %s", s.tag, exc)
            msgs.append(Message(telemetry_topic(cfg.site_id, cfg.block_id, p.subsystem, s.tag), payload, 1, True,
                                "telemetry", s.ts))
        msgs += [self._mode_message(m) for m in self.mode.observe(samples)]
        self.uplink.send(msgs)
        self.published += len(msgs)

    def _mode_message(self, m) -> Message:
        return Message(mode_topic(self.cfg.site_id, self.cfg.block_id), encode_mode(m), 1, True, "mode",
                       m.ts.timestamp())

    # -- mode, heartbeat, inbound --------------------------------------------------------------------------
    async def _mode_loop(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            ready = self.mode.due()
            if ready and self.uplink is not None:
                self.uplink.send([self._mode_message(m) for m in ready])

    def heartbeat_message(self) -> Message:
        up = self.uplink
        assert up is not None
        hb = heartbeat.build(self.cfg.edge_id, self.started,
                             {n: a.stats.as_heartbeat() for n, a in self.adapters.items()}, up.depth,
                             up.spool.capacity, up.spool.oldest_ts(), up.connected, up.replay_active,
                             up.spool.path.parent)
        return Message(heartbeat_topic(self.cfg.site_id, self.cfg.block_id), encode_heartbeat(hb), 1, True,
                       "heartbeat", time.time())

    def send_heartbeat(self) -> None:
        if self.uplink is not None:
            self.uplink.send([self.heartbeat_message()])

    async def _heartbeat_loop(self) -> None:
        await asyncio.sleep(min(2.0, self.settings.heartbeat_s))     # first beat once the pollers have read
        while True:
            self.send_heartbeat()
            await self._report_health()
            await asyncio.sleep(self.settings.heartbeat_s)

    async def _report_health(self) -> None:
        """Also upsert counters into ops.ingest_counters when a database is configured (`mcs status`)."""
        if not self.database_url:
            return
        up = self.uplink
        counters = {"site_id": self.cfg.site_id, "block_id": self.cfg.block_id, "published": self.published,
                    "spool_depth": up.depth, "evicted": up.spool.evicted_total, "connected": up.connected,
                    "overruns": self.overruns, "commands": self.commands.handled,
                    **{f"{n}_errors": a.stats.errors_total for n, a in self.adapters.items()}}

        def write() -> None:
            from mcs.db.engine import make_engine
            from mcs.health import report

            if not hasattr(self, "_health_engine"):
                self._health_engine = make_engine(self.database_url)
            report(self._health_engine, "edge", f"{self.cfg.key}@{socket.gethostname()}:{os.getpid()}", counters)

        try:
            await asyncio.to_thread(write)
        except Exception as exc:  # noqa: BLE001 — health reporting is best effort; the edge keeps polling
            log.debug("health report failed: %s", exc)

    def _on_message(self, message: mqtt.MQTTMessage) -> None:
        try:
            topic = parse_topic(message.topic)
        except WireError:
            return
        if topic.kind == "command":
            task = asyncio.get_running_loop().create_task(self.commands.handle(message.payload))
            self._inbound.add(task)
            task.add_done_callback(self._inbound.discard)
        elif topic.kind == "mode" and publisher_of(message.properties) != "edge":
            try:
                self.mode.foreign_message(decode_mode(message.payload))
            except WireError as exc:
                log.debug("ignoring an invalid mode/state message: %s", exc)
