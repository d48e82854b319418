"""The ISA-18.2 model, table-driven: record transitions, bands/deadband/delays, escalation, chatter, quality,
silence, and the reference engine's defects (domain §4.9) shown fixed with the domain's own examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mcs.alarms import state_machine as sm
from mcs.alarms.state_machine import AlarmRecord, Condition, PointEvaluator, PointSpec, TransitionRefused
from mcs.registry.models import Limit

T0 = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def lim(p: str, d: str, v: float) -> Limit:
    return Limit(priority=p, direction=d, value=v)


# TT-L2s as in the demo schedule (P0 60 / P1 55 / P2 52 / P3 48 high, P0 10 low, deadband 0.2 K).
TT_L2S = PointSpec(1, "ab", "block-01", "TT-L2s", "thermal-l2", "analog",
                   (lim("P0", "high", 60), lim("P0", "low", 10), lim("P1", "high", 55), lim("P2", "high", 52),
                    lim("P3", "high", 48)), deadband=0.2, poll_ms=2000, unit="°C")
LEAK = PointSpec(2, "ab", "block-01", "LD-01a", "thermal-safety", "binary", (lim("P0", "high", 1),), poll_ms=1000)
PLC = PointSpec(3, "ab", "block-01", "PLC-SAFE-status", "thermal-safety", "binary", (lim("P0", "low", 0),))
FREEZE = PointSpec(4, "ab", "block-01", "TT-FREEZE-L2", "thermal-reject", "analog",
                   (lim("P0", "low", -10), lim("P2", "low", -5), lim("P3", "low", 0)), deadband=0.5)


def run(spec: PointSpec, samples: list[tuple[float, float] | tuple[float, float, int]], **kw: object) -> list[tuple]:
    ev = PointEvaluator(spec, **kw)  # type: ignore[arg-type]
    out = []
    for s in samples:
        t, v, q = (*s, 0) if len(s) == 2 else s  # type: ignore[misc]
        out += [(c.change, c.kind, c.priority) for c in ev.sample(at(t), v, q)]
    return out


# ------------------------------------------------------------------------------ bands, deadband
@pytest.mark.parametrize(("spec", "samples", "expected"), [
    # reference defect 1: 57 with H and L limits raised and stayed raised (it went RTN_UNACK at once)
    (TT_L2S, [(0, 45), (2, 57)], [("RAISE", "limit", "P1")]),
    # defect 2: 62 above P0 escalates (reference stayed P2)
    (TT_L2S, [(0, 53), (2, 57), (4, 62)], [("RAISE", "limit", "P2"), ("ESCALATE", "limit", "P1"),
                                           ("ESCALATE", "limit", "P0")]),
    # deadband 0.2 K on P1 55: 54.9 holds, 54.8 is back inside by the deadband → P2 band (de-escalate)
    (TT_L2S, [(0, 56), (2, 54.9), (4, 54.8)], [("RAISE", "limit", "P1"), ("DEESCALATE", "limit", "P2")]),
    # clear from P3 48 needs ≤ 47.8
    (TT_L2S, [(0, 48.5), (2, 47.9), (4, 47.8)], [("RAISE", "limit", "P3"), ("CLEAR", "limit", "P3")]),
    # exactly at an analog limit is not above it (strict for analog)
    (TT_L2S, [(0, 48.0)], []),
    # LOW limit: 9.9 < 10 → P0 low
    (TT_L2S, [(0, 9.9), (2, 10.1), (4, 10.3)], [("RAISE", "limit", "P0"), ("CLEAR", "limit", "P0")]),
    # defect 3: binary leak = 1 raises (inclusive), 0 clears
    (LEAK, [(0, 0), (1, 1), (2, 0)], [("RAISE", "bool", "P0"), ("CLEAR", "bool", "P0")]),
    # PLC status 'P0 low 0' fires at exactly 0
    (PLC, [(0, 1), (1, 0)], [("RAISE", "bool", "P0")]),
    # limits at or below zero with an absolute deadband (a multiplicative one breaks here, §4.3)
    (FREEZE, [(0, 1), (2, -0.1), (4, -6), (6, -4.6), (8, -4.4), (10, 0.6)],
     [("RAISE", "limit", "P3"), ("ESCALATE", "limit", "P2"), ("DEESCALATE", "limit", "P3"), ("CLEAR", "limit", "P3")]),
])
def test_bands_and_deadband(spec: PointSpec, samples: list, expected: list) -> None:
    assert run(spec, samples) == expected


def test_every_sample_is_evaluated_not_only_flagged_ones() -> None:
    """Defect 4: the return to normal is seen from ordinary samples (no 'alarm' flag needed)."""
    assert run(TT_L2S, [(0, 50), *[(2 * i, 45.0) for i in range(1, 5)]])[-1] == ("CLEAR", "limit", "P3")


# ------------------------------------------------------------------------------------- delays
def test_on_delay_raises_after_persistence_with_the_onset_id() -> None:
    spec = PointSpec(1, "ab", "block-01", "MET-01-kW", "electrical", "analog", (lim("P3", "high", 1200),),
                     deadband=20, on_delay_s=10, off_delay_s=10)
    ev = PointEvaluator(spec)
    assert ev.sample(at(0), 1250) == [] and ev.sample(at(5), 1250) == []
    raised = ev.sample(at(10), 1250)
    assert [c.change for c in raised] == ["RAISE"]
    expected_id = f"block-01-MET-01-kW-{int(T0.timestamp() * 1000)}"
    assert sm.alarm_id_for("block-01", "MET-01-kW", raised[0].onset) == expected_id
    # a dip before the on-delay elapsed restarts it
    ev2 = PointEvaluator(spec)
    assert ev2.sample(at(0), 1250) == [] and ev2.sample(at(6), 1100) == [] and ev2.sample(at(12), 1250) == []
    assert ev2.sample(at(20), 1250) == []
    assert [c.change for c in ev2.sample(at(22), 1250)] == ["RAISE"]


def test_off_delay_clears_after_persistence() -> None:
    spec = PointSpec(1, "ab", "block-01", "X", "electrical", "analog", (lim("P3", "high", 10),), off_delay_s=10)
    assert run(spec, [(0, 11), (2, 5), (8, 5)]) == [("RAISE", "limit", "P3")]
    assert run(spec, [(0, 11), (2, 5), (8, 11), (10, 5), (19, 5), (20, 5)]) == [("RAISE", "limit", "P3"),
                                                                                 ("CLEAR", "limit", "P3")]


def test_escalation_also_waits_for_the_on_delay() -> None:
    spec = PointSpec(1, "ab", "block-01", "X", "thermal-l1", "analog",
                     (lim("P1", "high", 55), lim("P2", "high", 52)), on_delay_s=4)
    assert run(spec, [(0, 53), (4, 53), (6, 56), (8, 56), (10, 56)]) == [("RAISE", "limit", "P2"),
                                                                         ("ESCALATE", "limit", "P1")]


# ------------------------------------------------------------------------------------ chatter
def test_chattering_latches_after_three_activations_in_a_minute() -> None:
    spec = PointSpec(1, "ab", "block-01", "X", "thermal-l1", "analog", (lim("P2", "high", 10),))
    toggles = [(t, 11 if i % 2 == 0 else 9) for i, t in enumerate(range(0, 60, 5))]
    out = run(spec, toggles)
    assert out[:5] == [("RAISE", "limit", "P2"), ("CLEAR", "limit", "P2"), ("RAISE", "limit", "P2"),
                       ("CLEAR", "limit", "P2"), ("RAISE", "limit", "P2")]
    assert out[5] == ("CHATTER", "limit", None)
    assert len(out) == 6, "latched: no more clear/raise pairs while it chatters"
    ev = PointEvaluator(spec)
    for t, v in toggles:
        ev.sample(at(t), v)
    assert ev.chattering
    assert ev.sample(at(100), 9) == []                    # normal, but not yet for 60 s
    assert [c.change for c in ev.sample(at(161), 9)] == ["CLEAR"]
    assert not ev.chattering


def test_slow_toggling_is_not_chatter() -> None:
    spec = PointSpec(1, "ab", "block-01", "X", "thermal-l1", "analog", (lim("P2", "high", 10),))
    out = run(spec, [(t, 11 if i % 2 == 0 else 9) for i, t in enumerate(range(0, 300, 30))])
    assert ("CHATTER", "limit", None) not in out


# ------------------------------------------------------------------------------ quality, silence
def test_bad_quality_freezes_limits_and_raises_its_own_alarm() -> None:
    ev = PointEvaluator(TT_L2S)
    assert [c.change for c in ev.sample(at(0), 57)] == ["RAISE"]
    assert ev.sample(at(2), 0, sm.BAD) == []                # a BAD 0 does not clear a standing alarm
    raised = ev.sample(at(32), 0, sm.BAD)                 # thermal-l2: 30 s BAD delay
    assert [(c.change, c.kind, c.priority) for c in raised] == [("RAISE", "bad_quality", "P1")]
    assert ev.confirmed is not None and ev.confirmed.priority == "P1"
    back = ev.sample(at(34), 45, sm.GOOD)
    assert [(c.change, c.kind) for c in back] == [("CLEAR", "bad_quality"), ("CLEAR", "limit")]


def test_safety_sensor_bad_after_5_s() -> None:
    assert run(LEAK, [(0, 0, sm.BAD), (4, 0, sm.BAD), (5, 0, sm.BAD)]) == [("RAISE", "bad_quality", "P1")]


def test_uncertain_values_are_evaluated() -> None:
    assert run(TT_L2S, [(0, 57, sm.UNCERTAIN)]) == [("RAISE", "limit", "P1")]


def test_silent_source_raises_stale_and_clears_on_data() -> None:
    ev = PointEvaluator(TT_L2S)
    ev.sample(at(0), 45)
    assert ev.tick(at(100)) == []
    stale = ev.tick(at(121))
    assert [(c.change, c.kind, c.priority) for c in stale] == [("RAISE", "stale", "P1")]
    assert ev.tick(at(500)) == []
    assert [(c.change, c.kind) for c in ev.sample(at(501), 45)] == [("CLEAR", "stale")]


def test_out_of_order_and_duplicate_samples_are_ignored() -> None:
    ev = PointEvaluator(TT_L2S)
    ev.sample(at(10), 57)
    assert ev.sample(at(10), 45) == [] and ev.sample(at(5), 45) == []
    assert ev.confirmed is not None


def test_edge_offline_after_90_s() -> None:
    hb = sm.HeartbeatWatch("ab", "block-01")
    assert hb.tick(at(1000)) == []                          # never heard: not watched
    hb.heartbeat(at(0))
    assert hb.tick(at(90)) == []
    raised = hb.tick(at(91))
    assert [(c.change, c.kind, c.priority) for c in raised] == [("RAISE", "edge_offline", "P0")]
    assert [(c.change, c.kind) for c in hb.heartbeat(at(120))] == [("CLEAR", "edge_offline")]


def test_mode_derived_alarms() -> None:
    mw = sm.ModeWatch("ab", "block-01")
    assert mw.transition(at(0), "REJECT", "STARTUP", "startup:initial") == []
    assert mw.transition(at(60), "EXPORT", "REJECT", "auto:temp_stabilised") == []
    emrg = mw.transition(at(120), "REJECT", "EXPORT", "auto:safety_limit")
    assert [(c.change, c.tag, c.priority) for c in emrg] == [("RAISE", "ALM-MODE-EMRG", "P1"),
                                                             ("CLEAR", "ALM-MODE-EMRG", None)]
    assert mw.transition(at(180), "EXPORT", "REJECT", "auto:temp_stabilised") == []
    hunt = mw.transition(at(240), "REJECT", "EXPORT", "auto:host_demand_off")
    assert ("RAISE", "ALM-MODE-HUNT") in [(c.change, c.tag) for c in hunt]
    assert [(c.change, c.tag) for c in mw.tick(at(240 + 3600))] == [("CLEAR", "ALM-MODE-HUNT")]
    mw.transition(at(8000), "MAINTENANCE", "REJECT", "operator:override")
    assert mw.tick(at(8000 + 3 * 3600)) == []
    assert [(c.change, c.tag) for c in mw.tick(at(8000 + 4 * 3600))] == [("RAISE", "ALM-MAINT-WARN")]
    assert [(c.change, c.tag) for c in mw.transition(at(30000), "REJECT", "MAINTENANCE", "operator:x")] == [
        ("CLEAR", "ALM-MAINT-WARN")]


# --------------------------------------------------------------------------- record transitions
def cond(change: str, t: float, priority: str | None = "P2", value: float = 53.0) -> Condition:
    return Condition(change, "ab", "block-01", "TT-L2s", "limit", at(t), priority=priority,  # type: ignore[arg-type]
                     value=value, threshold=52.0, onset=at(t), direction="HIGH")


def raised() -> AlarmRecord:
    rec, _ = sm.apply_condition(None, cond("RAISE", 0))
    assert rec is not None
    return rec


def ev_names(events: list) -> list[str]:
    return [e.event for e in events]


@pytest.mark.parametrize(("start", "action", "state_after", "events"), [
    ("normal", "raise", "ACTIVE_UNACK", ["RAISED"]),
    ("ACTIVE_UNACK", "ack", "ACTIVE_ACK", ["ACKED"]),
    ("ACTIVE_UNACK", "clear", "RTN_UNACK", ["CLEARED"]),
    ("ACTIVE_ACK", "clear", "CLOSED", ["CLEARED", "CLOSED"]),
    ("ACTIVE_ACK", "ack", "ACTIVE_ACK", []),                 # second ack: no event
    ("ACTIVE_ACK", "escalate", "ACTIVE_UNACK", ["ESCALATED"]),
    ("ACTIVE_UNACK", "escalate", "ACTIVE_UNACK", ["ESCALATED"]),
    ("RTN_UNACK", "ack", "CLOSED", ["ACKED", "CLOSED"]),
    ("RTN_UNACK", "raise", "ACTIVE_UNACK", ["RAISED"]),      # back before the ack: same instance
    ("RTN_UNACK", "escalate", "ACTIVE_UNACK", ["ESCALATED"]),
    ("RTN_UNACK", "clear", "RTN_UNACK", []),
    ("CLOSED", "ack", "CLOSED", []),
    ("CLOSED", "raise", "ACTIVE_UNACK", ["RAISED"]),         # a new instance
    ("ACTIVE_UNACK", "deescalate", "ACTIVE_UNACK", []),
    ("ACTIVE_UNACK", "chatter", "ACTIVE_UNACK", ["CHATTER"]),
])
def test_record_transitions(start: str, action: str, state_after: str, events: list[str]) -> None:
    rec: AlarmRecord | None = None
    if start != "normal":
        rec = raised()
        if start == "ACTIVE_ACK":
            rec, _ = sm.ack(rec, "nick", at(1))
        elif start == "RTN_UNACK":
            rec, _ = sm.apply_condition(rec, cond("CLEAR", 1))
        elif start == "CLOSED":
            rec, _ = sm.apply_condition(rec, cond("CLEAR", 1))
            rec, _ = sm.ack(rec, "nick", at(2))  # type: ignore[arg-type]
    t = 10
    if action == "ack":
        new, evs = sm.ack(rec, "nick", at(t))  # type: ignore[arg-type]
    elif action == "raise":
        new, evs = sm.apply_condition(rec, cond("RAISE", t))
    elif action == "escalate":
        new, evs = sm.apply_condition(rec, cond("ESCALATE", t, "P1", 56))
    elif action == "clear":
        new, evs = sm.apply_condition(rec, cond("CLEAR", t, None, 45))
    elif action == "deescalate":
        new, evs = sm.apply_condition(rec, cond("DEESCALATE", t, "P3", 49))
    else:
        new, evs = sm.apply_condition(rec, cond("CHATTER", t, None))
    assert new is not None and new.state == state_after
    assert ev_names(evs) == events
    if start == "CLOSED" and action == "raise":
        assert new.alarm_id != rec.alarm_id  # type: ignore[union-attr]
    if action == "escalate":
        assert new.priority == "P1" and new.escalations == 1


def test_shelve_rules_and_expiry_semantics() -> None:
    rec = raised()
    with pytest.raises(TransitionRefused, match="reason"):
        sm.shelve(rec, "nick", at(1), timedelta(hours=1), "")
    with pytest.raises(TransitionRefused, match="24 hours"):
        sm.shelve(rec, "nick", at(1), timedelta(hours=25), "pump swap")
    shelved, evs = sm.shelve(rec, "nick", at(1), None, "pump swap")
    assert ev_names(evs) == ["SHELVED"] and shelved.shelved_until == at(1) + sm.SHELVE_DEFAULT
    assert shelved.hidden(at(2)) and not shelved.hidden(at(1) + sm.SHELVE_DEFAULT)
    # still follows the process while shelved; returning to normal closes it without an ack
    closed, evs = sm.apply_condition(shelved, cond("CLEAR", 5, None, 45))
    assert closed is not None and closed.state == "CLOSED" and ev_names(evs) == ["CLEARED", "CLOSED"]
    with pytest.raises(TransitionRefused, match="closed"):
        sm.shelve(closed, "nick", at(6), None, "again")
    # unshelve of an active alarm: annunciated in its current state at once
    back, evs = sm.unshelve(shelved, "nick", at(3))
    assert ev_names(evs) == ["UNSHELVED"] and back.state == "ACTIVE_UNACK" and not back.hidden(at(3))
    assert sm.unshelve(back, "nick", at(4))[1] == []


def test_carry_over_of_shelve_and_out_of_service() -> None:
    carry = sm.Carry(shelved_until=at(3600), shelve_reason="pump swap", shelved_by="nick", out_of_service=True,
                     oos_reason="sensor replaced", oos_by="ann", suppressed_by="mode:MAINTENANCE")
    rec, evs = sm.new_record(cond("RAISE", 10), carry)
    assert ev_names(evs) == ["RAISED", "SUPPRESSED", "SHELVED", "OUT_OF_SERVICE"]
    assert rec.hidden(at(11)) and rec.suppressed_by == "mode:MAINTENANCE"
    expired, evs = sm.new_record(cond("RAISE", 4000), sm.Carry(shelved_until=at(3600)))
    assert ev_names(evs) == ["RAISED"] and expired.shelved_until is None


def test_out_of_service_suppress_and_comment() -> None:
    rec = raised()
    with pytest.raises(TransitionRefused):
        sm.remove_from_service(rec, "nick", at(1), "x")
    oos, evs = sm.remove_from_service(rec, "nick", at(1), "sensor replaced")
    assert ev_names(evs) == ["OUT_OF_SERVICE"] and oos.hidden(at(2))
    assert sm.remove_from_service(oos, "nick", at(2), "again please")[1] == []
    back, evs = sm.return_to_service(oos, "nick", at(3))
    assert ev_names(evs) == ["RETURNED_TO_SERVICE"] and not back.out_of_service
    sup, evs = sm.suppress(rec, "block-01-CDU1-status-1", at(1))
    assert ev_names(evs) == ["SUPPRESSED"] and sup.suppressed_by == "block-01-CDU1-status-1"
    assert ev_names(sm.unsuppress(sup, at(2), "cause cleared")[1]) == ["UNSUPPRESSED"]
    _, evs = sm.comment(rec, "nick", at(1), "called the site")
    assert ev_names(evs) == ["COMMENT"] and evs[0].reason == "called the site"
    with pytest.raises(TransitionRefused):
        sm.comment(rec, "nick", at(1), " ")


def test_every_event_carries_the_state_after_and_the_actor() -> None:
    rec = raised()
    acked, evs = sm.ack(rec, "nick", at(5), "seen")
    e = evs[0]
    assert (e.state_after, e.actor, e.reason, e.source) == ("ACTIVE_ACK", "nick", "seen", "operator")
    assert acked.acked_by == "nick" and acked.acked_at == at(5)


# ----------------------------------------------------------------------------- derived rules
def test_frozen_watchdog_counter_raises_p0_after_5_s_and_clears_when_it_counts_again() -> None:
    from mcs.alarms.rules import DEFAULT_DERIVED

    rule = next(r for r in DEFAULT_DERIVED if r.tag == "ALM-PLC-WD")
    dev = sm.DerivedEvaluator(rule, "ab", "block-01")
    out = []
    for t, v in [(0, 10), (1, 11), (2, 11), (5, 11), (7, 11), (8, 12)]:
        out += [(c.change, c.tag, c.priority, c.ts) for c in dev.sample("PLC-SAFE-watchdog", at(t), v)]
    assert out == [("RAISE", "ALM-PLC-WD", "P0", at(7)), ("CLEAR", "ALM-PLC-WD", None, at(8))]


def test_valve_position_command_mismatch() -> None:
    from mcs.alarms.rules import DEFAULT_DERIVED

    rule = next(r for r in DEFAULT_DERIVED if r.tag == "ALM-VEXP-MISMATCH")
    dev = sm.DerivedEvaluator(rule, "ab", "block-01")
    feed = [("V-EXP-cmd", 0, 100), ("V-EXP-pos", 0, 0), ("V-EXP-pos", 4, 40), ("V-EXP-pos", 9, 98),
            ("V-EXP-pos", 12, 99), ("V-EXP-cmd", 20, 0), ("V-EXP-pos", 25, 90), ("V-EXP-pos", 31, 90),
            ("V-EXP-pos", 32, 2)]
    out = [(c.change, round(c.value or 0), c.onset) for tag, t, v in feed for c in dev.sample(tag, at(t), v)]
    # travel that reaches the command within 10 s is fine; a valve stuck at 90 % for > 10 s is not
    assert out == [("RAISE", 90, at(20)), ("CLEAR", 2, None)]
