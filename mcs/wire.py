"""MCS MQTT v1 wire codec (domain brief §3): topics, timestamps and every message kind.

One codec for every component that speaks to the broker (edge, simulator, ingestor, alarm engine,
app), so that "valid" means the same thing everywhere. Decoders are strict where the contract is
strict and tolerant where real edges are known to deviate:

* Topics are routed on the fourth level *before* it is read as a subsystem (§3.1): `mode/state`,
  `alarms/{P0..P3}`, `edge/heartbeat`, `command/{target}`, `command/response` and the 1.1.0
  `batch/{subsystem}` are not telemetry. `mode/<tag>` and `edge/<tag>` with any other tag are
  telemetry of the `mode`/`edge` subsystems (the registry has such points).
* Timestamps: any ISO 8601 form with an offset (`Z`, `±hh:mm`, milli/micro/nano seconds) and the
  reference adapters' `+00:00Z` quirk (§3.7); a timestamp without an offset is refused (its
  instant is unknowable). Encoders always write UTC with milliseconds and `Z`.
* Telemetry and batch items are `additionalProperties: false` (§3.4). Other messages refuse unknown
  top-level fields too but leave nested maps (`adapters`, `params`, `result`, `guards`, `system`)
  open, because those are where edges legitimately add detail.
* Non-finite values (`NaN`, `Infinity`, which some JSON emitters write) are VALUE_ERROR, not a
  parse error, so the dead-letter category says what is actually wrong.

Every failure raises `WireError(category, reason)`; `category` is a `raw.dead_letter` category.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson

__all__ = [
    "ALARM_ACTIONS", "BATCH_SCHEMA", "COMMANDS", "MODE_STATES", "PRIORITIES", "QUALITY", "QUALITY_NAMES",
    "SUBSYSTEMS", "AlarmEvent", "Command", "CommandResponse", "Heartbeat", "ModeState", "Reading", "Topic",
    "WireError", "alarm_topic", "batch_topic", "command_topic", "decode_alarm", "decode_batch",
    "decode_batch_lenient", "decode_command", "decode_heartbeat", "decode_mode", "decode_response",
    "decode_telemetry", "encode_alarm", "encode_batch", "encode_command", "encode_heartbeat", "encode_mode",
    "encode_response", "encode_telemetry", "format_ts", "heartbeat_topic", "mode_topic", "parse_topic",
    "parse_ts", "response_topic", "telemetry_topic",
]

QUALITY: dict[str, int] = {"GOOD": 0, "UNCERTAIN": 1, "BAD": 2}
QUALITY_NAMES: dict[int, str] = {v: k for k, v in QUALITY.items()}
PRIORITIES: tuple[str, ...] = ("P0", "P1", "P2", "P3")
# The 13 subsystems of §3.2 (same tuple as mcs.registry.models.SUBSYSTEMS; a unit test keeps them equal).
SUBSYSTEMS: tuple[str, ...] = ("electrical", "thermal-l1", "thermal-l2", "thermal-l3", "thermal-hx",
                               "thermal-reject", "thermal-safety", "environmental", "network", "security", "mode",
                               "edge", "host-bms")
MODE_STATES: tuple[str, ...] = ("EXPORT", "MIXED", "REJECT", "MAINTENANCE")
VALVE_STATES: tuple[str, ...] = ("OPEN", "CLOSED", "MODULATING")
ALARM_ACTIONS: tuple[str, ...] = ("RAISED", "CLEARED", "ESCALATED")
DIRECTIONS: tuple[str, ...] = ("HIGH", "LOW", "BOOL")
COMMANDS: tuple[str, ...] = ("mode_override", "alarm_ack_sync", "config_reload", "adapter_restart", "buffer_flush",
                             "diagnostics_request")
RESPONSE_STATUSES: tuple[str, ...] = ("accepted", "rejected", "error")
ADAPTER_STATUSES: tuple[str, ...] = ("running", "error", "stopped")
BATCH_SCHEMA = "1.1.0"
ROOT = "microlink"

_SEGMENT_RE = re.compile(r"^[a-z0-9_-]+$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_TELEMETRY_KEYS = frozenset({"ts", "v", "u", "q", "alarm", "seq"})
_TELEMETRY_REQUIRED = ("ts", "v", "u", "q")
_ITEM_KEYS = _TELEMETRY_KEYS | {"tag"}
_SUBSYSTEM_SET = frozenset(SUBSYSTEMS)
_QUALITY_SET = frozenset(QUALITY)
_ALARM_SET = frozenset(PRIORITIES)


class WireError(ValueError):
    """A message or topic that does not follow MCS MQTT v1; `category` is its dead-letter category."""

    def __init__(self, category: str, reason: str) -> None:
        super().__init__(f"{category}: {reason}")
        self.category = category
        self.reason = reason


# --------------------------------------------------------------------------------------------- topics

@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic. `kind` ∈ telemetry|batch|mode|alarm|heartbeat|command|response."""

    site: str
    block: str
    kind: str
    subsystem: str | None = None
    tag: str | None = None
    priority: str | None = None
    target: str | None = None


def parse_topic(topic: str) -> Topic:
    """Route a topic on its fourth level (§3.1, §3.12.1); anything else raises TOPIC_ERROR."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != ROOT:
        raise WireError("TOPIC_ERROR", f"expected microlink/{{site}}/{{block}}/{{level4}}/{{level5}}: {topic!r}")
    _, site, block, level4, level5 = parts
    if not _SEGMENT_RE.match(site) or not _SEGMENT_RE.match(block):
        raise WireError("TOPIC_ERROR", f"site/block must match [a-z0-9_-]+: {topic!r}")
    if not _TAG_RE.match(level5):
        raise WireError("TOPIC_ERROR", f"last level must match [A-Za-z0-9_-]+: {topic!r}")
    if level4 == "mode" and level5 == "state":
        return Topic(site, block, "mode")
    if level4 == "edge" and level5 == "heartbeat":
        return Topic(site, block, "heartbeat")
    if level4 == "alarms":
        if level5 not in _ALARM_SET:
            raise WireError("TOPIC_ERROR", f"alarm priority must be P0..P3: {topic!r}")
        return Topic(site, block, "alarm", priority=level5)
    if level4 == "command":
        if level5 == "response":
            return Topic(site, block, "response")
        return Topic(site, block, "command", target=level5)
    if level4 == "batch":
        if level5 not in _SUBSYSTEM_SET:
            raise WireError("TOPIC_ERROR", f"unknown batch subsystem {level5!r}: {topic!r}")
        return Topic(site, block, "batch", subsystem=level5)
    if level4 not in _SUBSYSTEM_SET:
        raise WireError("TOPIC_ERROR", f"unknown subsystem {level4!r}: {topic!r}")
    return Topic(site, block, "telemetry", subsystem=level4, tag=level5)


def telemetry_topic(site: str, block: str, subsystem: str, tag: str) -> str:
    return f"{ROOT}/{site}/{block}/{subsystem}/{tag}"


def batch_topic(site: str, block: str, subsystem: str) -> str:
    return f"{ROOT}/{site}/{block}/batch/{subsystem}"


def mode_topic(site: str, block: str) -> str:
    return f"{ROOT}/{site}/{block}/mode/state"


def alarm_topic(site: str, block: str, priority: str) -> str:
    return f"{ROOT}/{site}/{block}/alarms/{priority}"


def heartbeat_topic(site: str, block: str) -> str:
    return f"{ROOT}/{site}/{block}/edge/heartbeat"


def command_topic(site: str, block: str, target: str) -> str:
    if target == "response":
        raise ValueError("'response' is the reply topic, not a command target")
    return f"{ROOT}/{site}/{block}/command/{target}"


def response_topic(site: str, block: str) -> str:
    return f"{ROOT}/{site}/{block}/command/response"


# ----------------------------------------------------------------------------------------- timestamps

_FRACTION_RE = re.compile(r"(\.\d{6})\d+")


def parse_ts(value: object) -> datetime:
    """An aware datetime from any ISO 8601 string with an offset (TIME_ERROR otherwise).

    Accepts `Z`, `±hh:mm`/`±hhmm`, any number of fraction digits (beyond microseconds truncated), a
    space instead of `T`, and the reference adapters' `…+00:00Z` (offset *and* Z).
    """
    if type(value) is str and len(value) == 24 and value[23] == "Z" and value[19] == ".":
        try:                                             # the canonical form: one C call
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, str) or not value:
        raise WireError("TIME_ERROR", f"ts must be an ISO 8601 string, got {value!r}")
    s = value.strip()
    if s.endswith(("Z", "z")) and len(s) > 6 and s[-7] in "+-" and s[-4] == ":":
        s = s[:-1]                                       # "+00:00Z" quirk: the offset already says it
    if "." in s:
        s = _FRACTION_RE.sub(r"\1", s)                   # nanoseconds → microseconds
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise WireError("TIME_ERROR", f"unparseable timestamp {value!r}") from None
    if dt.tzinfo is None:
        raise WireError("TIME_ERROR", f"timestamp without offset {value!r}")
    return dt


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_ts(value: datetime | float) -> str:
    """`YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC. Floats are epoch seconds rounded to the millisecond;
    datetimes are truncated to the millisecond (so format(parse(x)) is stable). Naive datetimes are
    taken as UTC."""
    if isinstance(value, datetime):
        dt = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        ms = dt.microsecond // 1000
    else:
        total_ms = round(float(value) * 1000)
        dt = _EPOCH + timedelta(milliseconds=total_ms)
        ms = total_ms % 1000
    return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{ms:03d}Z"


def _as_dt(value: datetime | float) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return _EPOCH + timedelta(milliseconds=round(float(value) * 1000))


# ------------------------------------------------------------------------------------------- helpers

def _loads(data: bytes | str) -> dict[str, Any]:
    """JSON object from a payload. NaN/Infinity literals are VALUE_ERROR, other bad JSON PARSE_ERROR."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        _raise_non_finite(data)
        raise WireError("PARSE_ERROR", f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise WireError("PARSE_ERROR", f"payload must be a JSON object, got {type(obj).__name__}")
    return obj


def _raise_non_finite(data: bytes | str) -> None:
    """orjson refuses NaN/Infinity (and 1e400) outright; find out whether that is why."""
    def bad_constant(name: str) -> float:
        raise WireError("VALUE_ERROR", f"non-finite number {name}")

    def bad_float(text: str) -> float:
        f = float(text)
        if not math.isfinite(f):
            raise WireError("VALUE_ERROR", f"non-finite number {text}")
        return f

    try:
        json.loads(data, parse_constant=bad_constant, parse_float=bad_float)
    except WireError:
        raise
    except (ValueError, TypeError, RecursionError):
        return


def _check_keys(obj: dict[str, Any], allowed: frozenset[str], required: Iterable[str], what: str) -> None:
    extra = obj.keys() - allowed
    if extra:
        raise WireError("PARSE_ERROR", f"{what}: unknown field(s) {sorted(extra)} (additionalProperties false)")
    for k in required:
        if k not in obj:
            raise WireError("PARSE_ERROR", f"{what}: missing required field {k!r}")


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireError("VALUE_ERROR", f"{field} must be a number, got {value!r}")
    f = float(value)
    if not math.isfinite(f):
        raise WireError("VALUE_ERROR", f"{field} is not finite ({value!r})")
    return f


def _opt_number(value: object, field: str) -> float | None:
    return None if value is None else _number(value, field)


def _string(value: object, field: str, choices: Iterable[str] | None = None, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not allow_empty):
        raise WireError("PARSE_ERROR", f"{field} must be a non-empty string, got {value!r}")
    if choices is not None and value not in choices:
        raise WireError("PARSE_ERROR", f"{field} must be one of {sorted(choices)}, got {value!r}")
    return value


def _opt_string(value: object, field: str, choices: Iterable[str] | None = None) -> str | None:
    return None if value is None else _string(value, field, choices)


def _object(value: object, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError("PARSE_ERROR", f"{field} must be an object, got {value!r}")
    return value


def _int(value: object, field: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise WireError("PARSE_ERROR", f"{field} must be an integer ≥ {minimum}, got {value!r}")
    return value


def _dumps(obj: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(obj)
    except TypeError as exc:
        raise WireError("INTERNAL_ERROR", f"cannot encode: {exc}") from None


# ----------------------------------------------------------------------------------------- telemetry

class Reading(NamedTuple):
    """One telemetry value (§3.4). `quality` is the storage form 0/1/2.

    A NamedTuple rather than a dataclass: it is built once per reading on the ingest hot path,
    where construction cost matters (about 2.5× cheaper); fields and immutability are the same."""

    ts: datetime
    value: float
    unit: str
    quality: int = 0
    alarm: str | None = None
    seq: int | None = None


_INF = math.inf


def _reading(obj: dict[str, Any], what: str) -> Reading:
    """Validate a telemetry object (hot path: type() checks, one dict lookup per field)."""
    try:
        ts = obj["ts"]
        v = obj["v"]
        u = obj["u"]
        q = obj["q"]
    except KeyError as exc:
        raise WireError("PARSE_ERROR", f"{what}: missing required field {exc.args[0]!r}") from None
    tv = type(v)
    if tv is float:
        if v == _INF or v == -_INF or v != v:
            raise WireError("VALUE_ERROR", f"{what}: v is not finite")
    elif tv is int:
        v = float(v)
    else:
        raise WireError("VALUE_ERROR", f"{what}: v must be a number, got {v!r}")
    quality = QUALITY.get(q) if type(q) is str else None
    if quality is None:
        raise WireError("PARSE_ERROR", f"{what}: q must be GOOD/UNCERTAIN/BAD, got {q!r}")
    if type(u) is not str:
        raise WireError("PARSE_ERROR", f"{what}: u must be a string, got {u!r}")
    alarm = obj.get("alarm")
    if alarm is not None and alarm not in _ALARM_SET:
        raise WireError("PARSE_ERROR", f"{what}: alarm must be null or P0..P3, got {alarm!r}")
    seq = obj.get("seq")
    if seq is not None and (type(seq) is not int or seq < 0):
        raise WireError("PARSE_ERROR", f"{what}: seq must be an integer ≥ 0, got {seq!r}")
    return Reading(parse_ts(ts), v, u, quality, alarm, seq)


def decode_telemetry(data: bytes | str) -> Reading:
    """A telemetry payload (§3.4) → Reading; WireError if it does not follow the contract."""
    obj = _loads(data)
    if not obj.keys() <= _TELEMETRY_KEYS:
        _check_keys(obj, _TELEMETRY_KEYS, (), "telemetry")
    return _reading(obj, "telemetry")


def _reading_dict(r: Reading) -> dict[str, Any]:
    v = r.value
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise WireError("VALUE_ERROR", f"cannot encode non-finite or non-numeric value {v!r}")
    if r.quality not in QUALITY_NAMES:
        raise WireError("VALUE_ERROR", f"quality must be 0/1/2, got {r.quality!r}")
    d: dict[str, Any] = {"ts": format_ts(r.ts), "v": v, "u": r.unit, "q": QUALITY_NAMES[r.quality],
                         "alarm": r.alarm}
    if r.seq is not None:
        d["seq"] = r.seq
    return d


def encode_telemetry(reading: Reading) -> bytes:
    """Reading → contract payload (`seq` omitted when None, `alarm` always present)."""
    return _dumps(_reading_dict(reading))


# --------------------------------------------------------------------------------------------- batch

_BATCH_KEYS = frozenset({"ts", "schema", "items"})


def _batch_items(data: bytes | str) -> list[Any]:
    obj = _loads(data)
    _check_keys(obj, _BATCH_KEYS, ("ts", "items"), "batch")
    schema = obj.get("schema", BATCH_SCHEMA)
    if not isinstance(schema, str) or not schema.startswith("1."):
        raise WireError("PARSE_ERROR", f"batch schema major version must be 1, got {schema!r}")
    parse_ts(obj["ts"])
    items = obj["items"]
    if not isinstance(items, list):
        raise WireError("PARSE_ERROR", "batch: items must be an array")
    return items


def _item(item: Any, i: int) -> tuple[str, Reading]:
    what = "batch item"              # (the index is added by the callers' error path, not per item)
    if type(item) is not dict:
        raise WireError("PARSE_ERROR", f"{what} must be an object")
    if not item.keys() <= _ITEM_KEYS:
        _check_keys(item, _ITEM_KEYS, (), what)
    tag = item.get("tag")
    if type(tag) is not str or not _TAG_RE.match(tag):
        raise WireError("PARSE_ERROR", f"{what} {i}: tag must match [A-Za-z0-9_-]+, got {tag!r}")
    return tag, _reading(item, what)


def decode_batch(data: bytes | str) -> list[tuple[str, Reading]]:
    """A 1.1.0 batch payload (§3.5) → [(tag, Reading)]; any invalid item fails the whole batch."""
    out = []
    for i, item in enumerate(_batch_items(data)):
        try:
            out.append(_item(item, i))
        except WireError as exc:
            raise WireError(exc.category, f"item {i}: {exc.reason}") from None
    return out


def decode_batch_lenient(data: bytes | str) -> tuple[list[tuple[str, Reading]], list[tuple[bytes, WireError]]]:
    """Like decode_batch, but a bad item does not sink its neighbours: returns the good items and,
    for each bad one, its JSON (for the dead letter) and the error. An invalid envelope still raises."""
    good: list[tuple[str, Reading]] = []
    bad: list[tuple[bytes, WireError]] = []
    for i, item in enumerate(_batch_items(data)):
        try:
            good.append(_item(item, i))
        except WireError as exc:
            bad.append((orjson.dumps(item), WireError(exc.category, f"item {i}: {exc.reason}")))
    return good, bad


def encode_batch(ts: datetime | float, items: Iterable[tuple[str, Reading]]) -> bytes:
    out = []
    for tag, r in items:
        if not _TAG_RE.match(tag):
            raise WireError("PARSE_ERROR", f"tag must match [A-Za-z0-9_-]+, got {tag!r}")
        out.append({"tag": tag, **_reading_dict(r)})
    return _dumps({"ts": format_ts(ts), "schema": BATCH_SCHEMA, "items": out})


# ------------------------------------------------------------------------------------------ mode/state

@dataclass(frozen=True, slots=True)
class ModeState:
    """A thermal mode transition (§3.6). `valves` = {"v_exp": …, "v_rej": …}."""

    ts: datetime
    state: str
    previous: str
    trigger: str
    valves: dict[str, str]
    guards: dict[str, Any] | None = None
    operator: str | None = None


_MODE_KEYS = frozenset({"ts", "state", "previous", "trigger", "valves", "guards", "operator"})


def decode_mode(data: bytes | str) -> ModeState:
    obj = _loads(data)
    _check_keys(obj, _MODE_KEYS, ("ts", "state", "previous", "trigger", "valves"), "mode/state")
    valves = _object(obj["valves"], "valves")
    for k in ("v_exp", "v_rej"):
        _string(valves.get(k), f"valves.{k}", VALVE_STATES)
    guards = obj.get("guards")
    if guards is not None:
        guards = _object(guards, "guards")
        if "loop2_supply_temp" in guards:
            _opt_number(guards["loop2_supply_temp"], "guards.loop2_supply_temp")
    return ModeState(parse_ts(obj["ts"]), _string(obj["state"], "state", MODE_STATES),
                     _string(obj["previous"], "previous", (*MODE_STATES, "STARTUP")),
                     _string(obj["trigger"], "trigger"), dict(valves), guards, _opt_string(obj.get("operator"),
                                                                                        "operator"))


def encode_mode(m: ModeState) -> bytes:
    return _dumps({"ts": format_ts(m.ts), "state": m.state, "previous": m.previous, "trigger": m.trigger,
                   "valves": dict(m.valves), "guards": m.guards, "operator": m.operator})


# ---------------------------------------------------------------------------------------------- alarm

@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """An edge alarm event (§3.7)."""

    ts: datetime
    alarm_id: str
    action: str
    priority: str
    sensor_tag: str
    value: float
    threshold: float
    description: str
    subsystem: str | None = None
    direction: str | None = None


_ALARM_KEYS = frozenset({"ts", "alarm_id", "action", "priority", "sensor_tag", "subsystem", "value", "threshold",
                         "direction", "description"})


def decode_alarm(data: bytes | str) -> AlarmEvent:
    obj = _loads(data)
    _check_keys(obj, _ALARM_KEYS, ("ts", "alarm_id", "action", "priority", "sensor_tag", "value", "threshold",
                                   "description"), "alarm")
    return AlarmEvent(parse_ts(obj["ts"]), _string(obj["alarm_id"], "alarm_id"),
                      _string(obj["action"], "action", ALARM_ACTIONS), _string(obj["priority"], "priority",
                                                                               PRIORITIES),
                      _string(obj["sensor_tag"], "sensor_tag"), _number(obj["value"], "value"),
                      _number(obj["threshold"], "threshold"), _string(obj["description"], "description",
                                                                      allow_empty=True),
                      _opt_string(obj.get("subsystem"), "subsystem"),
                      _opt_string(obj.get("direction"), "direction", DIRECTIONS))


def encode_alarm(a: AlarmEvent) -> bytes:
    d: dict[str, Any] = {"ts": format_ts(a.ts), "alarm_id": a.alarm_id, "action": a.action, "priority": a.priority,
                         "sensor_tag": a.sensor_tag, "value": _number(a.value, "value"),
                         "threshold": _number(a.threshold, "threshold"), "description": a.description}
    if a.subsystem is not None:
        d["subsystem"] = a.subsystem
    if a.direction is not None:
        d["direction"] = a.direction
    return _dumps(d)


# ------------------------------------------------------------------------------------------ heartbeat

@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Edge health (§3.8). `adapters` name → {status, last_read_ts, reads_total, errors_total,
    devices_online, devices_total}; `buffer` {depth, capacity, oldest_ts, cloud_connected, replay_active}."""

    ts: datetime
    edge_id: str
    uptime_s: float
    adapters: dict[str, dict[str, Any]]
    buffer: dict[str, Any]
    system: dict[str, Any] | None = None


_HEARTBEAT_KEYS = frozenset({"ts", "edge_id", "uptime_s", "adapters", "buffer", "system"})
_BUFFER_REQUIRED = ("depth", "capacity", "oldest_ts", "cloud_connected", "replay_active")


def decode_heartbeat(data: bytes | str) -> Heartbeat:
    obj = _loads(data)
    _check_keys(obj, _HEARTBEAT_KEYS, ("ts", "edge_id", "uptime_s", "adapters", "buffer"), "heartbeat")
    adapters = _object(obj["adapters"], "adapters")
    for name, a in adapters.items():
        _string(_object(a, f"adapters.{name}").get("status"), f"adapters.{name}.status", ADAPTER_STATUSES)
    buffer = _object(obj["buffer"], "buffer")
    for k in _BUFFER_REQUIRED:
        if k not in buffer:
            raise WireError("PARSE_ERROR", f"heartbeat: buffer.{k} is required")
    system = obj.get("system")
    return Heartbeat(parse_ts(obj["ts"]), _string(obj["edge_id"], "edge_id"), _number(obj["uptime_s"], "uptime_s"),
                     adapters, buffer, None if system is None else _object(system, "system"))


def encode_heartbeat(h: Heartbeat) -> bytes:
    d: dict[str, Any] = {"ts": format_ts(h.ts), "edge_id": h.edge_id, "uptime_s": h.uptime_s,
                         "adapters": h.adapters, "buffer": h.buffer}
    if h.system is not None:
        d["system"] = h.system
    return _dumps(d)


# ----------------------------------------------------------------------------------- commands/replies

@dataclass(frozen=True, slots=True)
class Command:
    """A cloud → edge command (§3.9)."""

    ts: datetime
    cmd: str
    params: dict[str, Any]
    source: str
    request_id: str


@dataclass(frozen=True, slots=True)
class CommandResponse:
    """An edge → cloud reply to a command (§3.9)."""

    ts: datetime
    request_id: str
    status: str
    reason: str | None = None
    result: dict[str, Any] | None = None


_COMMAND_KEYS = frozenset({"ts", "cmd", "params", "source", "request_id"})
_RESPONSE_KEYS = frozenset({"ts", "request_id", "status", "reason", "result"})


def _request_id(value: object) -> str:
    s = _string(value, "request_id")
    try:
        uuid.UUID(s)
    except ValueError:
        raise WireError("PARSE_ERROR", f"request_id must be a UUID, got {s!r}") from None
    return s


def decode_command(data: bytes | str) -> Command:
    obj = _loads(data)
    _check_keys(obj, _COMMAND_KEYS, ("ts", "cmd", "params", "source", "request_id"), "command")
    return Command(parse_ts(obj["ts"]), _string(obj["cmd"], "cmd", COMMANDS), _object(obj["params"], "params"),
                   _string(obj["source"], "source"), _request_id(obj["request_id"]))


def encode_command(c: Command) -> bytes:
    return _dumps({"ts": format_ts(c.ts), "cmd": c.cmd, "params": c.params, "source": c.source,
                   "request_id": c.request_id})


def decode_response(data: bytes | str) -> CommandResponse:
    obj = _loads(data)
    _check_keys(obj, _RESPONSE_KEYS, ("ts", "request_id", "status"), "command response")
    result = obj.get("result")
    return CommandResponse(parse_ts(obj["ts"]), _request_id(obj["request_id"]),
                           _string(obj["status"], "status", RESPONSE_STATUSES),
                           _opt_string(obj.get("reason"), "reason"), None if result is None else _object(result,
                                                                                                       "result"))


def encode_response(r: CommandResponse) -> bytes:
    d: dict[str, Any] = {"ts": format_ts(r.ts), "request_id": r.request_id, "status": r.status}
    if r.reason is not None:
        d["reason"] = r.reason
    if r.result is not None:
        d["result"] = r.result
    return _dumps(d)


def as_datetime(value: datetime | float) -> datetime:
    """Aware UTC datetime from a datetime or epoch seconds (for callers building dataclasses)."""
    return _as_dt(value)
