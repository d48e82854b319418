"""A small, hand-built alarm history whose ISA-18.2 KPIs and SLA downtime are worked out by hand.

Inserted straight into ops.alarms / ops.alarm_events (migration 0003_alarms) so the dbt business
marts can be checked against known answers, independent of the alarm engine's own behaviour.

Site ab-baldwinsville (America/New_York, EDT = UTC-4 in October), block-01, class B:

* A  flood: 12 P3 alarms (TT-R01-in … TT-R12-in) raised 2026-10-14 14:00:00–14:05:30 UTC (one
     10-minute period, 10:00 local), each acked after 60 s, cleared after 5 min, closed after 6 min.
* B  chattering + fleeting: PT-L2s (P2) raised at 16:00:00, :20, :40 UTC, each cleared 10 s and
     closed 15 s later (one instance per activation, as an engine without chatter handling does).
* C  P0 leak LD-01a raised 18:00 UTC, acked after 20 s, cleared 18:30, closed 18:31.
* D  P1 FT-CDU1 raised 18:20 UTC, acked 18:40 (late: P1 target 900 s), cleared 19:00 — overlaps C,
     so the merged outage is 18:00–19:00 = 60 min, not 70.
* E  stale: TT-HXsOut (P2) raised 2026-10-13 10:00 UTC and never cleared (stale from 10-14 10:00 UTC).
* F  escalation: TT-L2s raised 20:00 UTC at P2, escalated to P1 at 20:10, cleared 20:25 (15 min of
     P0/P1 time counts toward SLA downtime), never acked.
* G  DOOR-01 (P3) raised together with SUPPRESSED (mode:MAINTENANCE): not annunciated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

SITE = "ab-baldwinsville"
BLOCK = "block-01"


def _t(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(2026, 10, day, hh, mm, tzinfo=UTC) + timedelta(seconds=ss)


@dataclass
class Alarm:
    tag: str
    priority: str
    events: list[tuple[datetime, str, str]]  # (ts, event, priority after)

    @property
    def raised_at(self) -> datetime:
        return self.events[0][0]

    @property
    def alarm_id(self) -> str:
        return f"{BLOCK}-{self.tag}-{int(self.raised_at.timestamp() * 1000)}"


def _simple(tag: str, prio: str, raised: datetime, ack_after: float | None, clear_after: float | None,
            close_after: float | None) -> Alarm:
    ev = [(raised, "RAISED", prio)]
    if ack_after is not None:
        ev.append((raised + timedelta(seconds=ack_after), "ACKED", prio))
    if clear_after is not None:
        ev.append((raised + timedelta(seconds=clear_after), "CLEARED", prio))
    if close_after is not None:
        ev.append((raised + timedelta(seconds=close_after), "CLOSED", prio))
    return Alarm(tag, prio, ev)


def known_alarms() -> list[Alarm]:
    alarms = [
        _simple(f"TT-R{i:02d}-in", "P3", _t(14, 14, 0, 30 * (i - 1)), 60, 300, 360) for i in range(1, 13)
    ]  # A
    alarms += [_simple("PT-L2s", "P2", _t(14, 16, 0, s), None, 10, 15) for s in (0, 20, 40)]  # B
    alarms.append(_simple("LD-01a", "P0", _t(14, 18), 20, 1800, 1860))  # C
    alarms.append(_simple("FT-CDU1", "P1", _t(14, 18, 20), 1200, 2400, None))  # D
    alarms.append(_simple("TT-HXsOut", "P2", _t(13, 10), None, None, None))  # E
    alarms.append(Alarm("TT-L2s", "P1", [(_t(14, 20), "RAISED", "P2"), (_t(14, 20, 10), "ESCALATED", "P1"),
                                         (_t(14, 20, 25), "CLEARED", "P1")]))  # F
    alarms.append(Alarm("DOOR-01", "P3", [(_t(14, 21), "RAISED", "P3"), (_t(14, 21), "SUPPRESSED", "P3")]))  # G
    return alarms


# Hand-computed answers (see the module docstring).
EXPECTED_DAY_2026_10_14 = {
    "periods": 144,
    "alarms_raised": 18,          # A 12 + B 3 + C + D + F (G suppressed, E on the 13th)
    "alarms_raised_all": 19,
    "p0_alarms": 1,
    "p1_alarms": 1,
    "p2_alarms": 4,               # B 3 + F (priority at raise)
    "p3_alarms": 12,
    "flood_periods": 1,           # A: 12 > 10 in 14:00–14:10 UTC
    "flood_minutes": 10,
    "pct_periods_in_flood": 0.6944,   # 1 / 144
    "pct_low_priority": 66.67,    # 12 / 18
    "pct_medium_priority": 22.22,  # 4 / 18
    "pct_high_priority": 11.11,   # 2 / 18
    "chattering_alarms": 3,
    "chattering_sources": 1,
    "fleeting_alarms": 3,
    "max_stale": 1,               # E from 10:00 UTC
    "stale_at_end": 1,
    "distinct_sources": 16,
    "top10_alarms": 12,           # PT-L2s 3 + nine sources with 1
    "pct_top10_share": 66.67,
    "acked_alarms": 14,           # A 12 + C + D
    "pct_acked_on_time": 92.86,   # 13 / 14 (D late)
    "escalations": 1,
}
EXPECTED_SLA_OCTOBER = {
    "total_minutes": 44640,       # 31 days × 1440
    "downtime_minutes": 75,       # C ∪ D = 60 min + F's P1 time 15 min
    "availability_pct": 99.8320,  # (44640 − 75) / 44640, 4 dp
    "target_pct": 99.90,
    "credit_pct": 5,              # shortfall 0.068 points > 0
    "credit_amount": 3570.00,     # 5 % × 420 kW × 170 USD
}


def insert_known_alarms(engine: Engine) -> list[Alarm]:
    """Write the known set into ops.alarms + ops.alarm_events (idempotent on the unique keys)."""
    alarms = known_alarms()
    with engine.begin() as conn:
        for a in alarms:
            last_ts, last_event, _ = a.events[-1]
            closed = next((ts for ts, ev, _ in a.events if ev == "CLOSED"), None)
            cleared = next((ts for ts, ev, _ in a.events if ev == "CLEARED"), None)
            acked = next((ts for ts, ev, _ in a.events if ev == "ACKED"), None)
            state = ("CLOSED" if closed else "RTN_UNACK" if cleared and not acked
                     else "ACTIVE_ACK" if acked and not cleared else "ACTIVE_UNACK" if not cleared else "CLOSED")
            conn.execute(text("""
                INSERT INTO ops.alarms (alarm_id, site_id, block_id, tag, kind, priority, state, raised_at,
                                        acked_at, cleared_at, closed_at, source, suppressed_by, description)
                VALUES (:id, :site, :block, :tag, 'limit', :prio, :state, :raised, :acked, :cleared,
                        COALESCE(:closed, CASE WHEN :state = 'CLOSED' THEN :last END), 'engine', :supp, :descr)
                ON CONFLICT (alarm_id) DO NOTHING"""),
                {"id": a.alarm_id, "site": SITE, "block": BLOCK, "tag": a.tag, "prio": a.priority, "state": state,
                 "raised": a.raised_at, "acked": acked, "cleared": cleared, "closed": closed, "last": last_ts,
                 "supp": "mode:MAINTENANCE" if a.tag == "DOOR-01" else None, "descr": f"known set {a.tag}"})
            for ts, ev, prio in a.events:
                state_after = {"RAISED": "ACTIVE_UNACK", "ESCALATED": "ACTIVE_UNACK", "ACKED": "ACTIVE_ACK",
                               "CLEARED": "RTN_UNACK", "CLOSED": "CLOSED", "SUPPRESSED": "ACTIVE_UNACK"}[ev]
                conn.execute(text("""
                    INSERT INTO ops.alarm_events (alarm_id, site_id, block_id, tag, priority, ts, event, state_after,
                                                  actor, source)
                    VALUES (:id, :site, :block, :tag, :prio, :ts, :ev, :state_after, :actor, :source)
                    ON CONFLICT DO NOTHING"""),
                    {"id": a.alarm_id, "site": SITE, "block": BLOCK, "tag": a.tag, "prio": prio, "ts": ts, "ev": ev,
                     "state_after": state_after, "actor": "op-jane" if ev == "ACKED" else None,
                     "source": "operator" if ev == "ACKED" else "engine"})
    return alarms
