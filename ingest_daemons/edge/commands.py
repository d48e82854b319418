"""Cloud → edge commands (domain §3.9): each one does what it says, and is answered once with its request_id.

The edge subscribes only to its explicit command targets (`command/edge`, `command/plc`, …), never
to `command/#`, so its own `command/response` can never come back as a command (the reference's
response storm). A redelivered command (same request_id, QoS 1) gets the cached response again
instead of running twice; a command older than `command_max_age_s` is rejected as expired.

* diagnostics_request — real probes: one read per device through its poller (latency, ok/error),
  broker link, spool state, host facts; answered within ~5 s.
* mode_override — `params.target_mode` REJECT or MAINTENANCE and a mandatory `reason`; passed to the
  PLC request interface (plc.py), then the mode register is watched for the PLC's reaction.
* config_reload — re-reads the block's registry and restarts the pollers with it (diff in result).
* adapter_restart — closes and re-creates one adapter's pollers (`params.adapter`).
* buffer_flush — reconnects now and drains the spool to the broker; nothing is deleted.
* alarm_ack_sync — rejected: this edge raises no local alarms (the cloud alarm engine owns them).
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import socket
import time
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import orjson
import psutil

from ingest_daemons.edge.spool import Message
from ingest_daemons.pollers.base import BAD
from mcs.wire import Command, CommandResponse, WireError, as_datetime, decode_command, encode_response, response_topic

if TYPE_CHECKING:
    from ingest_daemons.edge.runner import EdgeRunner

log = logging.getLogger(__name__)

REQUESTABLE_MODES = ("REJECT", "MAINTENANCE")
PROBE_TIMEOUT_S = 4.0
ANSWER_WITHIN_S = 9.0
Outcome = tuple[str, str | None, dict[str, Any] | None]


class CommandHandler:
    def __init__(self, runner: EdgeRunner) -> None:
        self.runner = runner
        self.answered: OrderedDict[str, CommandResponse] = OrderedDict()
        self.handled = 0

    # -- entry ----------------------------------------------------------------------------------------
    async def handle(self, payload: bytes) -> None:
        try:
            cmd = decode_command(payload)
        except WireError as exc:
            rid = _request_id_of(payload)
            log.warning("invalid command (%s)%s", exc, "" if rid else ": no request_id, not answered")
            if rid:
                self._respond(CommandResponse(as_datetime(time.time()), rid, "rejected", f"invalid command: {exc}"))
            return
        if cmd.request_id in self.answered:
            log.info("command %s redelivered: repeating its response", cmd.request_id)
            self._send(self.answered[cmd.request_id])
            return
        self.handled += 1
        age = time.time() - cmd.ts.timestamp()
        if age > self.runner.settings.command_max_age_s:
            self._respond(CommandResponse(as_datetime(time.time()), cmd.request_id, "rejected",
                                          f"expired: sent {age:.0f} s ago"))
            return
        log.info("command %s %s from %s", cmd.cmd, cmd.request_id, cmd.source)
        try:
            status, reason, result = await asyncio.wait_for(getattr(self, f"do_{cmd.cmd}")(cmd), ANSWER_WITHIN_S)
        except TimeoutError:
            status, reason, result = "error", f"not completed within {ANSWER_WITHIN_S:.0f} s", None
        except Exception as exc:  # noqa: BLE001 — every command gets an answer
            log.exception("command %s failed", cmd.cmd)
            status, reason, result = "error", f"{type(exc).__name__}: {exc}", None
        self._respond(CommandResponse(as_datetime(time.time()), cmd.request_id, status, reason, result))

    def _respond(self, response: CommandResponse) -> None:
        self.answered[response.request_id] = response
        while len(self.answered) > 1000:
            self.answered.popitem(last=False)
        self._send(response)

    def _send(self, response: CommandResponse) -> None:
        cfg = self.runner.cfg
        self.runner.uplink.send([Message(response_topic(cfg.site_id, cfg.block_id), encode_response(response), 1,
                                         False, "response", time.time())])

    # -- commands -------------------------------------------------------------------------------------
    async def do_diagnostics_request(self, cmd: Command) -> Outcome:
        probes = await asyncio.gather(*[self._probe(a, p, dev) for a, p, dev in self.runner.probe_targets()])
        up = self.runner.uplink
        disk = psutil.disk_usage(str(up.spool.path.parent))
        result = {"hostname": socket.gethostname(), "edge_id": self.runner.cfg.edge_id,
                  "uptime_s": round(time.monotonic() - self.runner.started, 1), "cpu_count": os.cpu_count(),
                  "mem_total_mb": round(psutil.virtual_memory().total / 2**20),
                  "disk_total_gb": round(disk.total / 2**30, 1), "disk_free_gb": round(disk.free / 2**30, 1),
                  "python": platform.python_version(), "points": len(self.runner.cfg.points),
                  "probes": {dev: r for dev, r in probes},
                  "devices_ok": sum(1 for _, r in probes if r["ok"]), "devices_total": len(probes),
                  "broker": {"connected": up.connected, "disconnects": up.disconnects,
                             "published_total": up.published_total, "acked_total": up.acked_total},
                  "buffer": {"depth": up.depth, "capacity": up.spool.capacity,
                             "evicted_total": up.spool.evicted_total, "replay_active": up.replay_active}}
        return "accepted", None, result

    async def _probe(self, adapter: str, poller: Any, device_id: str) -> tuple[str, dict[str, Any]]:
        tag = next(t for t, p in poller.points.items() if p.device_id == device_id)
        t0 = time.perf_counter()
        try:
            samples = await asyncio.wait_for(poller.read([tag]), PROBE_TIMEOUT_S)
            ok = bool(samples) and samples[0].quality != BAD
            error = None if ok else (samples[0].error if samples else "no sample")
        except TimeoutError:
            ok, error = False, f"no answer within {PROBE_TIMEOUT_S:.0f} s"
        return device_id, {"adapter": adapter, "ok": ok, "latency_ms": round((time.perf_counter() - t0) * 1000, 1),
                           "probe_point": tag, "error": error}

    async def do_mode_override(self, cmd: Command) -> Outcome:
        target = str(cmd.params.get("target_mode", "")).upper()
        reason = str(cmd.params.get("reason") or "").strip()
        if target not in REQUESTABLE_MODES:
            return ("rejected", f"target_mode must be one of {', '.join(REQUESTABLE_MODES)} (EXPORT/MIXED are the "
                    "PLC's automatic decisions)", None)
        if not reason:
            return "rejected", "a reason is mandatory for a mode override", None
        before = self.runner.mode.mode
        outcome = await asyncio.to_thread(self.runner.plc.request_mode, target, cmd.source, reason)
        status = outcome.get("status", "error")
        result: dict[str, Any] = {"requested": target, "mode_before": before, "plc": outcome}
        if status != "accepted":
            return status, str(outcome.get("detail", "refused by the PLC interface")), result
        deadline = time.monotonic() + 7.0
        while time.monotonic() < deadline and self.runner.mode.mode != target:
            await asyncio.sleep(0.2)
        result.update(observed_mode=self.runner.mode.mode, confirmed=self.runner.mode.mode == target)
        return "accepted", None if result["confirmed"] else "requested; the PLC has not confirmed yet", result

    async def do_config_reload(self, cmd: Command) -> Outcome:
        if self.runner.reload is None:
            return "rejected", "this edge was started without a registry to reload from", None
        diff = await self.runner.reload_config()
        return "accepted", None, diff

    async def do_adapter_restart(self, cmd: Command) -> Outcome:
        name = str(cmd.params.get("adapter", ""))
        if name not in self.runner.adapters:
            return "rejected", f"unknown adapter {name!r}; this edge runs {sorted(self.runner.adapters)}", None
        devices = await self.runner.restart_adapter(name)
        return "accepted", None, {"adapter": name, "devices": devices}

    async def do_buffer_flush(self, cmd: Command) -> Outcome:
        up = self.runner.uplink
        before = up.depth
        up.kick()
        deadline = time.monotonic() + 7.0
        while time.monotonic() < deadline and up.depth > len(up.inflight):
            await asyncio.sleep(0.1)
        result = {"depth_before": before, "depth_after": up.depth, "cloud_connected": up.connected,
                  "replay_active": up.replay_active}
        if up.depth > len(up.inflight):
            return "accepted", "still draining: the rest follows in order", result
        return "accepted", None, result

    async def do_alarm_ack_sync(self, cmd: Command) -> Outcome:
        return "rejected", "this edge raises no local alarms; acknowledgements live in the cloud alarm engine", None


def _request_id_of(payload: bytes) -> str | None:
    try:
        rid = orjson.loads(payload).get("request_id")
        return str(uuid.UUID(str(rid)))
    except (orjson.JSONDecodeError, AttributeError, ValueError, TypeError):
        return None
