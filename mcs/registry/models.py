"""Pydantic models of a site definition: site, blocks, devices, equipment, points, limits, contracts.

Per-field rules live in the field types and validators, so a pydantic error's location names the
field. Rules that relate several fields of one point (limit ordering, encoding consistency) are in
`Point.issues()`, which names the CSV column each problem belongs to. Rules that span several
objects (a point's device exists, register spans do not overlap) are in `mcs.registry.loader`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mcs.registry.units import CANONICAL_UNITS, KIND_UNITS, PHYSICAL_UNITS, UNIT_SUGGESTIONS

SITE_ID_RE = r"^[a-z0-9][a-z0-9_-]{2,48}[a-z0-9]$"
BLOCK_ID_RE = r"^block-[0-9]{2}$"
TAG_RE = r"^[A-Za-z0-9_-]+$"
DEVICE_ID_RE = r"^[a-z0-9][a-z0-9_-]*$"
OID_RE = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
# BACnet objects are written `object-type,instance` (bacpypes3's spelling); `type:instance` is accepted.
BACNET_OBJECT_RE = re.compile(r"^(?P<type>[a-z]+(?:-[a-z]+)*)[,:](?P<instance>[0-9]{1,7})$")
BACNET_OBJECT_TYPES = frozenset({
    "analog-input", "analog-output", "analog-value", "binary-input", "binary-output", "binary-value",
    "multi-state-input", "multi-state-output", "multi-state-value", "integer-value",
    "positive-integer-value", "large-analog-value", "accumulator", "pulse-converter",
})

Kind = Literal["analog", "binary", "enum", "bitmask", "counter", "accumulator", "id"]
Subsystem = Literal["electrical", "thermal-l1", "thermal-l2", "thermal-l3", "thermal-hx", "thermal-reject",
                    "thermal-safety", "environmental", "network", "security", "mode", "edge", "host-bms"]
DeviceProtocol = Literal["modbus-tcp", "modbus-rtu", "snmp", "bacnet-ip", "mqtt"]
PointProtocol = Literal["modbus-tcp", "modbus-rtu", "snmp", "bacnet-ip", "mqtt", "derived"]
RegisterType = Literal["holding", "input", "coil", "discrete"]
DataType = Literal["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "bool",
                   "bitfield"]
WordOrder = Literal["ABCD", "DCBA", "BADC", "CDAB"]
SnmpType = Literal["Integer32", "Gauge32", "Counter32", "Counter64", "TimeTicks"]
Priority = Literal["P0", "P1", "P2", "P3"]
Direction = Literal["high", "low"]
AvailabilityClass = Literal["A", "B", "C"]

PRIORITIES: tuple[Priority, ...] = ("P0", "P1", "P2", "P3")
SUBSYSTEMS: tuple[str, ...] = get_args(Subsystem)
KINDS: tuple[str, ...] = get_args(Kind)

# Registers a Modbus value occupies, and the Modicon reference base of each register table
# (address 40001 is holding register 0, 30001 input register 0, 10001 discrete input 0, 00001 coil 0).
REGISTER_COUNT: dict[str, int] = {"int16": 1, "uint16": 1, "bitfield": 1, "bool": 1, "int32": 2, "uint32": 2,
                                  "float32": 2, "int64": 4, "uint64": 4, "float64": 4}
MODICON_BASE: dict[str, int] = {"holding": 40001, "input": 30001, "discrete": 10001, "coil": 1}

# The data type a poller decodes for each SNMP syntax.
SNMP_DATA_TYPE: dict[str, str] = {"Integer32": "int32", "Gauge32": "uint32", "Counter32": "uint32",
                                  "TimeTicks": "uint32", "Counter64": "uint64"}

# Billing roles with exactly one live source per block (the others, per PDU or rack, are summed).
SINGLE_SOURCE_BILLING_ROLES = frozenset({"facility_energy_kwh", "facility_power_kw", "thermal_energy_kwht",
                                         "thermal_power_kw"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def definition_hash(payload: dict[str, Any]) -> str:
    """sha256 of a canonical JSON rendering: equal definitions hash equal across runs and machines."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------- site
class Site(Strict):
    site_id: Annotated[str, Field(pattern=SITE_ID_RE)]
    name: Annotated[str, Field(min_length=1)]
    timezone: str
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    grid_hz: Literal[50, 60]
    grid_region: Annotated[str, Field(min_length=1)]
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    host_name: str | None = None
    status: Literal["planned", "commissioning", "operational", "decommissioned"] = "operational"
    schedule_revision: str | None = None

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. America/New_York)")
        ZoneInfo(value)
        return value


class Device(Strict):
    device_id: Annotated[str, Field(pattern=DEVICE_ID_RE)]
    protocol: DeviceProtocol
    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    unit_id: Annotated[int, Field(ge=0, le=255)] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None

    @field_validator("params")
    @classmethod
    def _no_inline_secrets(cls, value: dict[str, Any]) -> dict[str, Any]:
        # Secrets come from the environment only: the file names the variable, never the value.
        for key in value:
            if key in ("password", "auth_key", "priv_key", "secret"):
                raise ValueError(f"'{key}' must not be in a site file; name an env var with '{key}_env'")
        return value

    def transport(self) -> str:
        return "udp" if self.protocol in ("snmp", "bacnet-ip") else "tcp"


class Equipment(Strict):
    tag: Annotated[str, Field(pattern=TAG_RE)]
    type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    subsystem: Subsystem
    description: str | None = None


class Limit(Strict):
    priority: Priority
    direction: Direction
    value: float

    def violated_by(self, value: float, kind: str) -> bool:
        """The registry's comparison rule: strict for analog/counter/accumulator, inclusive for
        binary/enum/bitmask (a leak's 'P0 high 1' fires at 1, a PLC status 'P0 low 0' at 0)."""
        inclusive = kind in ("binary", "enum", "bitmask")
        if self.direction == "high":
            return value >= self.value if inclusive else value > self.value
        return value <= self.value if inclusive else value < self.value


# ---------------------------------------------------------------------------------------- point
class Point(Strict):
    """One row of a point schedule. Field names are the database columns; `CSV_COLUMNS` maps them."""

    tag: Annotated[str, Field(pattern=TAG_RE, max_length=64)]
    description: Annotated[str, Field(min_length=1)]
    subsystem: Subsystem
    equipment_tag: Annotated[str, Field(pattern=TAG_RE)] | None = None
    protocol: PointProtocol
    address: str | None = None
    data_type: DataType | None = None
    unit: str
    range_min: float | None = None
    range_max: float | None = None
    precision: Annotated[float, Field(gt=0)] | None = None
    poll_ms: Annotated[int, Field(gt=0)]
    limits: tuple[Limit, ...] = ()
    notes: str | None = None
    kind: Kind
    device_id: Annotated[str, Field(pattern=DEVICE_ID_RE)] | None = None
    register_type: RegisterType | None = None
    word_order: WordOrder | None = None
    snmp_type: SnmpType | None = None
    scale: float = 1.0
    value_offset: float = 0.0
    enum_map: dict[str, str] | None = None
    deadband: Annotated[float, Field(ge=0)] = 0.0
    on_delay_s: Annotated[float, Field(ge=0)] = 0.0
    off_delay_s: Annotated[float, Field(ge=0)] = 0.0
    billing_role: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] | None = None

    @field_validator("address")
    @classmethod
    def _normalise_bacnet_object(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or info.data.get("protocol") != "bacnet-ip":
            return value
        match = BACNET_OBJECT_RE.match(value)
        if not match or match["type"] not in BACNET_OBJECT_TYPES:
            raise ValueError(f"{value!r} is not a BACnet object (e.g. analog-input,1)")
        if int(match["instance"]) > 4194302:
            raise ValueError(f"BACnet instance {match['instance']} is above 4194302")
        return f"{match['type']},{match['instance']}"

    @field_validator("unit")
    @classmethod
    def _canonical_unit(cls, value: str) -> str:
        if value not in CANONICAL_UNITS:
            hint = UNIT_SUGGESTIONS.get(value)
            raise ValueError(f"{value!r} is not a canonical MCS unit" + (f" (use {hint})" if hint else ""))
        return value

    @field_validator("enum_map")
    @classmethod
    def _enum_keys(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key in value or {}:
            if not re.fullmatch(r"-?[0-9]+", key):
                raise ValueError(f"enum_map key {key!r} is not an integer")
        return value

    @field_validator("scale")
    @classmethod
    def _nonzero_scale(cls, value: float) -> float:
        if value == 0:
            raise ValueError("scale must not be 0")
        return value

    # -------------------------------------------------------------- cross-field rules
    def issues(self) -> list[tuple[str, str]]:
        """(field, message) for every rule that relates several fields of this point."""
        return [*self._unit_issues(), *self._encoding_issues(), *self._range_issues(), *self._limit_issues()]

    def _unit_issues(self) -> list[tuple[str, str]]:
        expected = KIND_UNITS.get(self.kind)
        if expected and self.unit != expected:
            return [("unit", f"a {self.kind} point has unit '{expected}', not '{self.unit}'")]
        if not expected and self.unit not in PHYSICAL_UNITS:
            return [("unit", f"an {self.kind} point needs a physical unit, not '{self.unit}'")]
        if self.enum_map is not None and self.kind not in ("binary", "enum", "bitmask"):
            return [("enum_map", f"only binary/enum/bitmask points have an enum_map, not {self.kind}")]
        return []

    def _encoding_issues(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        proto = self.protocol
        if proto in ("modbus-tcp", "modbus-rtu", "snmp", "bacnet-ip"):
            if not self.address:
                out.append(("address", f"a {proto} point needs an address"))
            if not self.device_id:
                out.append(("device_id", f"a {proto} point needs a device"))
            if not self.data_type:
                out.append(("data_type", f"a {proto} point needs a data_type"))
        if proto.startswith("modbus"):
            out += self._modbus_issues()
        else:
            for name in ("register_type", "word_order"):
                if getattr(self, name):
                    out.append((name, f"{name} applies to Modbus points only"))
        if proto == "snmp":
            if self.address and not OID_RE.match(self.address):
                out.append(("address", f"{self.address!r} is not a numeric OID (e.g. 1.3.6.1.2.1.1.3.0)"))
            if not self.snmp_type:
                out.append(("snmp_type", "an SNMP point needs snmp_type (Integer32, Gauge32, Counter32, "
                                         "Counter64 or TimeTicks)"))
            elif self.data_type and SNMP_DATA_TYPE[self.snmp_type] != self.data_type:
                out.append(("data_type", f"{self.snmp_type} decodes as {SNMP_DATA_TYPE[self.snmp_type]}, "
                                         f"not {self.data_type}"))
        elif self.snmp_type:
            out.append(("snmp_type", "snmp_type applies to SNMP points only"))
        if proto in ("mqtt", "derived") and self.address:
            out.append(("address", f"a {proto} point has no protocol address"))
        return out

    def _modbus_issues(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        rtype = self.register_type or "holding"
        if self.address:
            if not re.fullmatch(r"[0-9]{5}", self.address):
                out.append(("address", f"{self.address!r} is not a 5-digit Modicon register number (e.g. 40001)"))
            else:
                offset = int(self.address) - MODICON_BASE[rtype]
                if not 0 <= offset <= 9998:
                    out.append(("address", f"{self.address} is not a {rtype} register "
                                           f"({MODICON_BASE[rtype]:05d}-{MODICON_BASE[rtype] + 9998:05d})"))
        bits = rtype in ("coil", "discrete")
        if self.data_type and bits != (self.data_type == "bool"):
            out.append(("data_type", f"{rtype} {'bits are' if bits else 'registers are not'} data_type bool"
                        if bits else f"data_type bool needs register_type coil or discrete, not {rtype}"))
        if self.data_type and self.word_order and REGISTER_COUNT[self.data_type] == 1:
            out.append(("word_order", f"word_order applies to 32/64-bit values, not {self.data_type}"))
        return out

    def _range_issues(self) -> list[tuple[str, str]]:
        if self.range_min is not None and self.range_max is not None and self.range_min > self.range_max:
            return [("range_min", f"range_min {self.range_min:g} is above range_max {self.range_max:g}")]
        return []

    def _limit_issues(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for direction in ("high", "low"):
            chain = [lim for p in PRIORITIES for lim in self.limits if lim.priority == p and lim.direction == direction]
            # P0 is the most extreme: highs must rise from P3 to P0, lows must fall from P3 to P0.
            for severe, mild in zip(chain, chain[1:], strict=False):
                ok = severe.value >= mild.value if direction == "high" else severe.value <= mild.value
                if not ok:
                    out.append((limit_column(severe), f"{severe.priority} {direction} {severe.value:g} must be "
                                f"{'at or above' if direction == 'high' else 'at or below'} {mild.priority} "
                                f"{direction} {mild.value:g} (P3 ≤ P2 ≤ P1 ≤ P0 for highs, mirrored for lows)"))
        highs = [lim for lim in self.limits if lim.direction == "high"]
        lows = [lim for lim in self.limits if lim.direction == "low"]
        if highs and lows:
            top_low, bottom_high = max(lows, key=lambda lim: lim.value), min(highs, key=lambda lim: lim.value)
            if top_low.value >= bottom_high.value:
                out.append((limit_column(top_low), f"low limit {top_low.value:g} is not below high limit "
                                                   f"{bottom_high.value:g}: the point would always alarm"))
        for lim in self.limits:
            if self.range_min is not None and self.range_max is not None and not (
                    self.range_min <= lim.value <= self.range_max):
                out.append((limit_column(lim), f"{lim.value:g} is outside the range "
                                               f"[{self.range_min:g}, {self.range_max:g}]"))
            if self.kind == "binary" and lim.value not in ((1.0,) if lim.direction == "high" else (0.0,)):
                out.append((limit_column(lim), "a binary point alarms with 'high 1' or 'low 0'"))
        return out

    def register_span(self) -> range | None:
        """Zero-based register (or bit) offsets this Modbus point occupies, None for other protocols."""
        if not self.protocol.startswith("modbus") or not self.address or not self.data_type:
            return None
        start = int(self.address) - MODICON_BASE[self.register_type or "holding"]
        return range(start, start + REGISTER_COUNT[self.data_type])


def limit_column(limit: Limit) -> str:
    return f"alarm_{limit.priority}_{limit.direction}"


# ---------------------------------------------------------------------------------------- block
class Block(Strict):
    block_id: Annotated[str, Field(pattern=BLOCK_ID_RE)]
    name: Annotated[str, Field(min_length=1)]
    it_capacity_kw: Annotated[float, Field(gt=0)]
    rack_count: Annotated[int, Field(ge=0)]
    availability_class: AvailabilityClass
    status: Literal["planned", "commissioning", "operational", "decommissioned"] = "operational"
    commissioned_on: dt.date | None = None
    edge_id: str | None = None
    points: tuple[str, ...] = ()
    devices: tuple[Device, ...] = ()
    equipment: tuple[Equipment, ...] = ()


class Contract(Strict):
    contract_ref: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    kind: Literal["colo_msa", "host_agreement", "lender"]
    counterparty: Annotated[str, Field(min_length=1)]
    block_id: Annotated[str, Field(pattern=BLOCK_ID_RE)] | None = None
    start_date: dt.date
    end_date: dt.date | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    availability_class: AvailabilityClass | None = None
    committed_kw: Annotated[float, Field(ge=0)] | None = None
    racks: tuple[Annotated[str, Field(pattern=TAG_RE)], ...] | None = None
    terms: dict[str, Any] = Field(default_factory=dict)


class SiteFile(Strict):
    """The document in sites/<site_id>/site.yaml (keys starting with 'x-' hold YAML anchors only)."""

    site: Site
    blocks: tuple[Block, ...]
    contracts: tuple[Contract, ...] = ()


# ---------------------------------------------------------------------------------------- loaded
class BlockDefinition(Strict):
    """A block with its parsed point schedule."""

    block: Block
    points: tuple[Point, ...]

    @property
    def block_id(self) -> str:
        return self.block.block_id


class SiteDefinition(Strict):
    """Everything one site's files define, validated."""

    site: Site
    blocks: tuple[BlockDefinition, ...]
    contracts: tuple[Contract, ...]
    source: str

    @property
    def site_id(self) -> str:
        return self.site.site_id

    def point_count(self) -> int:
        return sum(len(b.points) for b in self.blocks)

