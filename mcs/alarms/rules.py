"""Suppression by design: cascade rules and mode rules, as data (domain §4.5).

A cascade rule says: while an alarm whose tag matches `cause` (and kind is in `cause_kinds`) is open
and active in a block, alarms of that block whose tag matches one of `effects` are consequential and
suppressed, linked to the cause (`suppressed_by` = the cause's alarm_id). Named groups of the cause
pattern are substituted into the effects (`CDU(?P<n>\\d+)-status` → `FT-CDU{n}`), which is how a
relation "same equipment / same loop" is written against the real point-schedule tags (the
reference's regexes named tags that do not exist). A mode rule suppresses, while a block is in one of
`modes`, the alarms of `subsystems` up to `max_priority` severity — P0 is never suppressed by a mode
("MAINTENANCE — all monitoring and P0 alarms continue", §5.2).

The defaults below are the demo registry's relationships; a deployment passes its own list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from mcs.alarms.state_machine import RANK, DerivedRule


@dataclass(frozen=True)
class CascadeRule:
    name: str
    cause: str                                   # regex on the cause's tag (full match)
    effects: tuple[str, ...]                     # regexes on effect tags, may use {group} of the cause
    cause_kinds: tuple[str, ...] = ("limit", "bool", "edge")
    effect_kinds: tuple[str, ...] = ("limit", "bool", "edge", "stale", "bad_quality")
    rationale: str = ""

    @cached_property
    def _cause_re(self) -> re.Pattern[str]:
        return re.compile(self.cause)

    def effect_patterns(self, cause_tag: str, cause_kind: str) -> list[re.Pattern[str]]:
        """The compiled effect patterns for a given cause, or [] if it is not a cause of this rule."""
        if cause_kind not in self.cause_kinds:
            return []
        m = self._cause_re.fullmatch(cause_tag)
        if not m:
            return []
        groups = {k: re.escape(v) for k, v in m.groupdict().items() if v is not None}
        return [re.compile(e.format(**groups)) for e in self.effects]

    def suppresses(self, cause_tag: str, cause_kind: str, effect_tag: str, effect_kind: str) -> bool:
        if effect_kind not in self.effect_kinds or effect_tag == cause_tag:
            return False
        return any(p.fullmatch(effect_tag) for p in self.effect_patterns(cause_tag, cause_kind))


@dataclass(frozen=True)
class ModeRule:
    name: str
    modes: tuple[str, ...]
    subsystems: tuple[str, ...]
    max_priority: str = "P1"                     # most severe priority a mode may suppress (never P0)
    tags: tuple[str, ...] = ()                   # optional: only these tag regexes
    kinds: tuple[str, ...] = ("limit", "bool", "stale", "bad_quality", "edge")

    def suppresses(self, mode: str | None, subsystem: str | None, tag: str, kind: str, priority: str) -> bool:
        if mode not in self.modes or kind not in self.kinds or subsystem not in self.subsystems:
            return False
        if RANK[priority] < max(RANK[self.max_priority], 1):
            return False
        return not self.tags or any(re.fullmatch(t, tag) for t in self.tags)


THERMAL = ("thermal-l1", "thermal-l2", "thermal-l3", "thermal-hx", "thermal-reject")

DEFAULT_CASCADE: tuple[CascadeRule, ...] = (
    CascadeRule("cdu-pump-trip", r"CDU(?P<n>\d+)-status",
                (r"FT-CDU{n}", r"PT-CDU{n}", r"CDU{n}-.*", r"TT-R\d+-cool", r"TT-CDU{n}.*"),
                rationale="a CDU pump trip explains its low flow, its dP and the rack coolant temperatures"),
    CascadeRule("loop2-pump-fault", r"PP0(?P<n>\d)-fault",
                (r"FT-L2", r"PT-L2.*", r"PP0{n}-.*", r"FT-L3", r"FT-BIL"),
                rationale="a loop-2 pump fault explains flow and pressure transients until the standby runs"),
    CascadeRule("leak", r"LD-\d+[ab]",
                (r"FT-.*", r"PT-.*", r"CDU\d+-status", r"PP0\d-.*"),
                rationale="leak isolation and pump stops cause flow/pressure alarms (§4.5)"),
    CascadeRule("mains-loss", r"MSB-01-V-.*|MET-01-V-L\d|UPS-01-on-batt",
                (r"UPS-01-.*", r"PDU-\d+-.*", r"MET-01-.*"), cause_kinds=("limit", "bool"),
                rationale="mains loss explains UPS, PDU and meter alarms"),
    CascadeRule("wan-down", r"NET-vpn-status|NET-latency-cloud|NET-wan-.*",
                (r"SW-\d+-.*",), rationale="switches unreachable, not failed"),
    CascadeRule("edge-offline", r"EDGE-heartbeat", (r".*",), cause_kinds=("edge_offline",),
                effect_kinds=("stale", "bad_quality"),
                rationale="with the edge offline every point is silent: one P0, not hundreds of stale alarms"),
)

DEFAULT_MODE_RULES: tuple[ModeRule, ...] = (
    ModeRule("maintenance", ("MAINTENANCE",), THERMAL + ("mode",), max_priority="P1"),
    # In REJECT the host side is isolated: low host flow / HX approach are expected, not faults (§4.5).
    ModeRule("reject-host-side", ("REJECT",), ("thermal-l3", "thermal-hx"), max_priority="P1",
             tags=(r"FT-L3", r"FT-BIL", r"TT-HX.*", r"MET-T1-.*")),
)


# Derived alarms the mode logic expects (domain §4.10, §5.5), over the point-schedule tags.
DEFAULT_DERIVED: tuple[DerivedRule, ...] = (
    DerivedRule("ALM-PLC-WD", "frozen", ("PLC-SAFE-watchdog",), "P0", for_s=5.0,
                description="safety PLC watchdog counter stale > 5 s (PLC frozen)"),
    DerivedRule("ALM-VEXP-MISMATCH", "mismatch", ("V-EXP-pos", "V-EXP-cmd"), "P0", for_s=10.0, tolerance=5.0,
                subsystem="thermal-l3", description="export valve position ≠ command for > 10 s"),
    DerivedRule("ALM-VREJ-MISMATCH", "mismatch", ("V-REJ-pos", "V-REJ-cmd"), "P0", for_s=15.0, tolerance=5.0,
                subsystem="thermal-l3", description="reject valve position ≠ command for > 15 s"),
)


@dataclass
class SuppressionRules:
    cascade: tuple[CascadeRule, ...] = DEFAULT_CASCADE
    modes: tuple[ModeRule, ...] = DEFAULT_MODE_RULES
    _cache: dict[tuple[str, str, str, str], bool] = field(default_factory=dict, repr=False)

    def is_cause(self, tag: str, kind: str) -> bool:
        return any(r.effect_patterns(tag, kind) for r in self.cascade)

    def cascade_suppresses(self, cause_tag: str, cause_kind: str, effect_tag: str, effect_kind: str) -> bool:
        key = (cause_tag, cause_kind, effect_tag, effect_kind)
        hit = self._cache.get(key)
        if hit is None:
            hit = any(r.suppresses(cause_tag, cause_kind, effect_tag, effect_kind) for r in self.cascade)
            self._cache[key] = hit
        return hit

    def mode_suppresses(self, mode: str | None, subsystem: str | None, tag: str, kind: str, priority: str) -> bool:
        return any(r.suppresses(mode, subsystem, tag, kind, priority) for r in self.modes)
