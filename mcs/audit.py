"""The shared audit log (ops.audit_log, append-only): who did what, when, to what, and why.

Every audited action — alarm actions, commands, report launches — calls `record` inside the same
transaction as the change it describes, so an action and its audit row commit (or roll back)
together. Works with a SQLAlchemy `Connection` or a psycopg connection.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

INSERT = ("INSERT INTO ops.audit_log (actor, role, action, target, reason, details) "
          "VALUES (%(actor)s, %(role)s, %(action)s, %(target)s, %(reason)s, CAST(%(details)s AS jsonb)) RETURNING id")
INSERT_SA = text("INSERT INTO ops.audit_log (actor, role, action, target, reason, details) "
                 "VALUES (:actor, :role, :action, :target, :reason, CAST(:details AS jsonb)) RETURNING id")


def record(conn: Any, actor: str, role: str, action: str, target: str | None = None, reason: str | None = None,
           details: dict[str, Any] | None = None) -> int:
    """Append one audit row; returns its id. `action` is dotted, e.g. `alarm.ack`, `command.mode_override`."""
    if not actor or not role or not action:
        raise ValueError("an audit record needs actor, role and action")
    params = {"actor": actor, "role": role, "action": action, "target": target, "reason": reason,
              "details": json.dumps(details or {}, default=str)}
    if isinstance(conn, Connection):
        return int(conn.execute(INSERT_SA, params).scalar_one())
    return int(conn.execute(INSERT, params).fetchone()[0])
