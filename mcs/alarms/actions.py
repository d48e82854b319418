"""Operator actions on alarms — the one write path used by the CLI and the Streamlit app.

Each action, in one transaction: check the role (only `operator` and `admin` act; anyone else gets
`ActionRefused`, and the refusal is audited too), lock the alarm rows (SELECT … FOR UPDATE, in alarm_id
order so bulk actions cannot deadlock each other), apply the pure ISA-18.2 transition from
`mcs.alarms.state_machine`, write the row, its ops.alarm_events rows and an ops.audit_log row.
Because the row is locked and re-read, two operators (or two app replicas, or the engine) acting on
one alarm at once serialise: the second ack finds ACTIVE_ACK and is a no-op, so there is one ACKED.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from mcs import audit
from mcs.alarms import state_machine as sm
from mcs.alarms.processor import Conflict
from mcs.alarms.state_machine import AlarmRecord, EventRow, TransitionRefused
from mcs.alarms.store import DbStore, DbTx
from mcs.runtime import UserError

ACTING_ROLES = frozenset({"operator", "admin"})

__all__ = ["ACTING_ROLES", "ActionRefused", "AlarmNotFound", "TransitionRefused", "ack", "comment",
           "remove_from_service", "return_to_service", "shelve", "unshelve"]


class ActionRefused(UserError, PermissionError):
    """The role may not act on alarms (only operator/admin may)."""


class AlarmNotFound(UserError, LookupError):
    """No alarm with that id."""


def _check_role(engine: Engine, actor: str, role: str, action: str, targets: list[str]) -> None:
    if role in ACTING_ROLES:
        return
    with engine.begin() as conn:
        audit.record(conn, actor or "?", role or "?", f"alarm.{action}.refused", ",".join(targets)[:500] or None,
                     f"role {role!r} may not act on alarms", {"alarm_ids": targets})
    raise ActionRefused(f"role {role!r} may not {action} alarms: only operator or admin may act")


Transition = Callable[[AlarmRecord, datetime], tuple[AlarmRecord, list[EventRow]]]


def _act(engine: Engine, alarm_ids: Iterable[str], actor: str, role: str, action: str, transition: Transition,
         reason: str | None, details: dict[str, Any] | None = None, missing_ok: bool = False,
         at: datetime | None = None) -> list[str]:
    """Apply `transition` to each alarm under its row lock; return the ids it changed (emitted events for)."""
    ids = sorted(set(alarm_ids))
    if not ids:
        raise UserError(f"{action}: no alarm ids given")
    if not actor:
        raise UserError(f"{action}: the acting user must be named")
    _check_role(engine, actor, role, action, ids)
    store = DbStore(engine)
    for attempt in range(5):
        changed: list[str] = []
        try:
            with store.transaction() as tx:
                now = at or datetime.now(UTC)
                for aid in ids:
                    rec = tx.get(aid)
                    if rec is None:
                        if missing_ok:
                            continue
                        raise AlarmNotFound(f"no alarm {aid!r}")
                    new, events = transition(rec, now)
                    if not events:
                        continue
                    _save(tx, new, events)
                    changed.append(aid)
                    audit.record(tx.conn, actor, role, f"alarm.{action}", aid, reason,
                                 {**(details or {}), "state_after": new.state, "bulk": len(ids),
                                  "events": [e.event for e in events]})
            return changed
        except Conflict:
            if attempt == 4:
                raise
    return []


def _save(tx: DbTx, rec: AlarmRecord, events: list[EventRow]) -> None:
    tx.save(rec, events)


def ack(engine: Engine, alarm_ids: Iterable[str] | str, actor: str, role: str, comment: str | None = None) -> list[str]:
    """Acknowledge one or many alarms (bulk ack). Returns the ids that were acknowledged now; alarms already
    acknowledged or closed are left alone (no second ACKED event)."""
    ids = [alarm_ids] if isinstance(alarm_ids, str) else list(alarm_ids)
    return _act(engine, ids, actor, role, "ack", lambda rec, now: sm.ack(rec, actor, now, comment), comment)


def shelve(engine: Engine, alarm_id: str, actor: str, role: str, duration: timedelta | float | None = None,
           reason: str | None = None) -> list[str]:
    """Shelve for `duration` (timedelta, or hours as a number; default 8 h, at most 24 h) with a reason."""
    if isinstance(duration, int | float):
        duration = timedelta(hours=float(duration))
    try:
        return _act(engine, [alarm_id], actor, role, "shelve",
                    lambda rec, now: sm.shelve(rec, actor, now, duration, reason), reason,  # type: ignore[arg-type]
                    {"duration_s": duration.total_seconds() if duration else None})
    except TransitionRefused as exc:
        raise UserError(str(exc)) from None


def unshelve(engine: Engine, alarm_id: str, actor: str, role: str, reason: str | None = None) -> list[str]:
    return _act(engine, [alarm_id], actor, role, "unshelve",
                lambda rec, now: sm.unshelve(rec, actor, now, reason or f"unshelved by {actor}"), reason)


def remove_from_service(engine: Engine, alarm_id: str, actor: str, role: str, reason: str | None = None) -> list[str]:
    try:
        return _act(engine, [alarm_id], actor, role, "remove_from_service",
                    lambda rec, now: sm.remove_from_service(rec, actor, now, reason), reason)
    except TransitionRefused as exc:
        raise UserError(str(exc)) from None


def return_to_service(engine: Engine, alarm_id: str, actor: str, role: str, reason: str | None = None) -> list[str]:
    return _act(engine, [alarm_id], actor, role, "return_to_service",
                lambda rec, now: sm.return_to_service(rec, actor, now, reason), reason)


def comment(engine: Engine, alarm_id: str, actor: str, role: str, text: str) -> list[str]:
    try:
        return _act(engine, [alarm_id], actor, role, "comment",
                    lambda rec, now: sm.comment(rec, actor, now, text), text)
    except TransitionRefused as exc:
        raise UserError(str(exc)) from None


def expire_shelves(engine: Engine, now: datetime | None = None) -> list[str]:
    """The engine's periodic job: end shelves whose time is up (audited as the engine)."""
    from mcs.alarms.store import expired_shelves

    now = now or datetime.now(UTC)
    ids = expired_shelves(engine, now)
    if not ids:
        return []
    return _act(engine, ids, "engine", "admin", "unshelve",
                lambda rec, t: sm.unshelve(rec, "engine", t, "shelve expired", source="engine")
                if rec.shelved_until is not None and rec.shelved_until <= t else (rec, []),
                "shelve expired", missing_ok=True, at=now)
