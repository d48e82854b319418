"""The processor over an in-memory store: suppression by MAINTENANCE and by cascade, release and re-evaluation,
shelve carry-over, edge-alarm merging, restart restore."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from mcs.alarms import state_machine as sm
from mcs.alarms.processor import MemoryStore, Processor
from mcs.alarms.rules import CascadeRule, ModeRule, SuppressionRules
from mcs.alarms.state_machine import PointSpec
from mcs.registry.models import Limit
from mcs.wire import AlarmEvent

T0 = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
S, B = "ab", "block-01"


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def lim(p: str, d: str, v: float) -> Limit:
    return Limit(priority=p, direction=d, value=v)


SPECS = [
    PointSpec(1, S, B, "CDU1-status", "thermal-l1", "binary", (lim("P1", "low", 0),)),
    PointSpec(2, S, B, "FT-CDU1", "thermal-l1", "analog", (lim("P0", "low", 10), lim("P2", "low", 18)), deadband=0.2),
    PointSpec(3, S, B, "PT-CDU1", "thermal-l1", "analog", (lim("P2", "high", 100),)),
    PointSpec(4, S, B, "FT-CDU2", "thermal-l1", "analog", (lim("P2", "low", 18),)),
    PointSpec(5, S, B, "TT-L2s", "thermal-l2", "analog", (lim("P0", "high", 60), lim("P2", "high", 52))),
    PointSpec(6, S, B, "LD-01a", "thermal-safety", "binary", (lim("P0", "high", 1),)),
]


def proc() -> tuple[Processor, MemoryStore]:
    store = MemoryStore()
    return Processor(store, SPECS), store


def open_by_tag(store: MemoryStore) -> dict[str, sm.AlarmRecord]:
    return {r.tag: r for r in store.records.values() if r.is_open}


def events_of(store: MemoryStore, tag: str) -> list[str]:
    return [e.event for e in store.events if e.tag == tag]


def test_maintenance_suppresses_process_alarms_but_never_p0() -> None:
    p, store = proc()
    p.mode(S, B, at(0), "EXPORT", "REJECT", "auto:temp_stabilised")
    p.telemetry(S, B, "TT-L2s", at(1), 53)                # P2 raised, annunciated
    p.mode(S, B, at(10), "MAINTENANCE", "EXPORT", "operator:override")
    rec = open_by_tag(store)["TT-L2s"]
    assert rec.suppressed_by == "mode:MAINTENANCE" and events_of(store, "TT-L2s") == ["RAISED", "SUPPRESSED"]
    p.telemetry(S, B, "FT-CDU2", at(11), 15)              # new P2 during maintenance: born suppressed
    assert open_by_tag(store)["FT-CDU2"].suppressed_by == "mode:MAINTENANCE"
    p.telemetry(S, B, "TT-L2s", at(12), 61)               # escalates to P0: the instance stays linked, but …
    p.telemetry(S, B, "LD-01a", at(13), 1)                # … a new P0 is never suppressed by a mode
    assert open_by_tag(store)["LD-01a"].suppressed_by is None
    p.mode(S, B, at(20), "REJECT", "MAINTENANCE", "operator:maintenance_complete")
    after = open_by_tag(store)
    assert after["TT-L2s"].suppressed_by is None and "UNSUPPRESSED" in events_of(store, "TT-L2s")
    # re-evaluated on release: still active, so annunciated as ACTIVE_UNACK (not silently cleared)
    assert after["TT-L2s"].state == "ACTIVE_UNACK" and after["TT-L2s"].priority == "P0"
    # FT-CDU2 is a flow alarm: released from the mode but the open leak still explains it → re-linked
    assert after["FT-CDU2"].suppressed_by == after["LD-01a"].alarm_id
    p.telemetry(S, B, "LD-01a", at(30), 0)
    assert open_by_tag(store)["FT-CDU2"].suppressed_by is None
    assert events_of(store, "FT-CDU2") == ["RAISED", "SUPPRESSED", "UNSUPPRESSED"]


def test_cdu_pump_trip_suppresses_its_consequential_alarms_and_releases_them() -> None:
    p, store = proc()
    p.telemetry(S, B, "PT-CDU1", at(0), 120)              # already active before the trip
    p.telemetry(S, B, "CDU1-status", at(1), 0)            # the root cause
    p.telemetry(S, B, "FT-CDU1", at(2), 15)               # consequential: born suppressed
    p.telemetry(S, B, "FT-CDU2", at(3), 15)               # the other CDU: not related
    o = open_by_tag(store)
    cause = o["CDU1-status"].alarm_id
    assert o["PT-CDU1"].suppressed_by == cause and o["FT-CDU1"].suppressed_by == cause
    assert o["FT-CDU2"].suppressed_by is None and o["CDU1-status"].suppressed_by is None
    p.telemetry(S, B, "FT-CDU1", at(4), 40)               # effect clears while suppressed: closed, no ack needed
    assert store.records[o["FT-CDU1"].alarm_id].state == "CLOSED"
    p.telemetry(S, B, "CDU1-status", at(5), 1)            # cause back: dependants released
    o2 = open_by_tag(store)
    assert o2["PT-CDU1"].suppressed_by is None and "UNSUPPRESSED" in events_of(store, "PT-CDU1")


def test_cascade_rules_are_data() -> None:
    rules = SuppressionRules(cascade=(CascadeRule("x", r"A(?P<n>\d)", (r"B{n}",)),), modes=(
        ModeRule("m", ("MAINTENANCE",), ("thermal-l1",)),))
    assert rules.cascade_suppresses("A1", "limit", "B1", "limit")
    assert not rules.cascade_suppresses("A1", "limit", "B2", "limit")
    assert rules.mode_suppresses("MAINTENANCE", "thermal-l1", "X", "limit", "P1")
    assert not rules.mode_suppresses("MAINTENANCE", "thermal-l1", "X", "limit", "P0")
    assert not rules.mode_suppresses("EXPORT", "thermal-l1", "X", "limit", "P2")


def test_shelve_carries_over_to_the_next_instance_until_expiry() -> None:
    p, store = proc()
    p.telemetry(S, B, "FT-CDU2", at(0), 15)
    rec = open_by_tag(store)["FT-CDU2"]
    shelved, evs = sm.shelve(rec, "nick", at(1), timedelta(minutes=30), "flow meter recalibration")
    store.save(shelved, evs)
    p.telemetry(S, B, "FT-CDU2", at(2), 40)               # normal while shelved → closed
    assert store.records[rec.alarm_id].state == "CLOSED"
    p.telemetry(S, B, "FT-CDU2", at(60), 15)              # new instance within the shelve window
    new = open_by_tag(store)["FT-CDU2"]
    assert new.alarm_id != rec.alarm_id and new.shelved_until == at(1) + timedelta(minutes=30)
    p.telemetry(S, B, "FT-CDU2", at(70), 40)
    p.telemetry(S, B, "FT-CDU2", at(3600), 15)            # after expiry: annunciated normally
    assert open_by_tag(store)["FT-CDU2"].shelved_until is None


def test_edge_alarms_merge_by_id_without_duplicates() -> None:
    p, store = proc()
    raised = AlarmEvent(at(0), "block-01-ALM-PLC-WD-1", "RAISED", "P0", "ALM-PLC-WD", 0, 0, "PLC watchdog stale",
                        "thermal-safety", "BOOL")
    p.edge_alarm(S, B, raised)
    p.edge_alarm(S, B, raised)                            # re-delivery
    assert events_of(store, "ALM-PLC-WD") == ["RAISED"] and store.records["block-01-ALM-PLC-WD-1"].kind == "edge"
    # reference edges clear with a fresh id and P3 (§3.7): still clears the open instance of that tag
    p.edge_alarm(S, B, replace(raised, ts=at(5), alarm_id="block-01-ALM-PLC-WD-999", action="CLEARED", priority="P3"))
    assert store.records["block-01-ALM-PLC-WD-1"].state == "RTN_UNACK"
    # an edge alarm on a point the engine evaluates merges into the engine's instance
    p.telemetry(S, B, "TT-L2s", at(10), 53)
    engine_id = open_by_tag(store)["TT-L2s"].alarm_id
    p.edge_alarm(S, B, AlarmEvent(at(10), "block-01-TT-L2s-edge", "RAISED", "P2", "TT-L2s", 53, 52, "x"))
    assert [r.tag for r in store.records.values()].count("TT-L2s") == 1
    assert "block-01-TT-L2s-edge" in store.records[engine_id].edge_alarm_ids
    # the edge raised first (no on-delay at the edge): the engine takes that instance over
    p.edge_alarm(S, B, AlarmEvent(at(20), "block-01-PT-CDU1-edge", "RAISED", "P2", "PT-CDU1", 120, 100, "x"))
    p.telemetry(S, B, "PT-CDU1", at(21), 120)
    pt = [r for r in store.records.values() if r.tag == "PT-CDU1"]
    assert len(pt) == 1 and pt[0].kind == "limit" and pt[0].alarm_id == "block-01-PT-CDU1-edge"


def test_restart_restores_open_alarms_without_reraising() -> None:
    p, store = proc()
    p.telemetry(S, B, "TT-L2s", at(0), 53)
    fresh = Processor(store, SPECS)
    fresh.restore([r for r in store.records.values() if r.is_open], {}, {}, {})
    fresh.telemetry(S, B, "TT-L2s", at(2), 53.5)
    assert events_of(store, "TT-L2s") == ["RAISED"]
    fresh.telemetry(S, B, "TT-L2s", at(4), 45)
    assert events_of(store, "TT-L2s") == ["RAISED", "CLEARED"]


def test_edge_offline_suppresses_stale_alarms_of_its_block() -> None:
    p, store = proc()
    p.heartbeat(S, B, at(0))
    p.telemetry(S, B, "FT-CDU2", at(0), 40)
    p.tick(at(100))                                      # edge offline first (90 s) …
    p.tick(at(130))                                      # … then the point goes silent (120 s)
    o = open_by_tag(store)
    assert o["EDGE-heartbeat"].priority == "P0"
    assert o["FT-CDU2"].kind == "stale" and o["FT-CDU2"].suppressed_by == o["EDGE-heartbeat"].alarm_id


def test_reconcile_clears_an_open_instance_written_elsewhere_once_evaluation_says_normal() -> None:
    """A replay beside the live engine can leave an instance open that this engine never raised."""
    replayed, store = proc()
    replayed.telemetry(S, B, "TT-L2s", at(0), 53)                     # written by "replay"
    live = Processor(store, SPECS)                                   # the live engine never saw it
    assert live.reconcile(store.records.values()) == 0               # no newer samples yet: leave it
    live.telemetry(S, B, "TT-L2s", at(5), 45)
    assert live.reconcile([r for r in store.records.values() if r.is_open]) == 1
    assert events_of(store, "TT-L2s") == ["RAISED", "CLEARED"]
    live.telemetry(S, B, "TT-L2s", at(6), 53)                        # still active per live evaluation: kept
    assert live.reconcile([r for r in store.records.values() if r.is_open]) == 0
