"""Cloud → edge commands (domain §3.9): request, track, expire. Used by the Streamlit Commands page.

    rid = request_command(engine, mqtt_url, "ab-baldwinsville", "block-01", "diagnostics_request", {},
                          "operator:j.doe")
    command_status(engine, rid)     # {'status': 'sent', …} → 'accepted' once the ingestor has the reply
    expire_commands(engine, 30)     # unanswered after 30 s → 'timed_out'

A command is recorded in ops.commands ('requested') and in the audit log (ops.audit_log, same
transaction) *before* it is published, so nothing reaches an edge unrecorded; it becomes 'sent' once
the broker has acknowledged it (QoS 1). The edge's reply arrives on `command/response`, where the
MQTT ingestor writes raw.command_responses and sets status/answered_at/response here.

Targets: `mode_override` goes to `command/plc` (the PLC request path), everything else to
`command/edge`; the edge subscribes to exactly these. Role/2FA checks for mode_override belong to
the caller (the app); this module refuses a mode_override without a reason.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import Engine, text

from mcs import wire
from mcs.runtime import UserError, mqtt_host_port

DEFAULT_TARGETS = {"mode_override": "plc"}
BLOCK_SQL = text("SELECT 1 FROM ref.blocks WHERE site_id = :site_id AND block_id = :block_id AND retired_at IS NULL")
INSERT_SQL = text("""
INSERT INTO ops.commands (request_id, site_id, block_id, target, cmd, params, source, status)
VALUES (:request_id, :site_id, :block_id, :target, :cmd, CAST(:params AS jsonb), :source, 'requested')
""")
SENT_SQL = text("UPDATE ops.commands SET status = 'sent', sent_at = now() "
                "WHERE request_id = :request_id AND status = 'requested'")
FAILED_SQL = text("UPDATE ops.commands SET status = 'error', answered_at = now(), response = CAST(:response AS jsonb) "
                  "WHERE request_id = :request_id AND status IN ('requested', 'sent')")
EXPIRE_SQL = text("""
UPDATE ops.commands SET status = 'timed_out'
WHERE status IN ('requested', 'sent') AND requested_at < now() - make_interval(secs => :older_than_s)
""")
STATUS_SQL = text("""
SELECT request_id::text AS request_id, site_id, block_id, target, cmd, params, source, status, requested_at, sent_at,
       answered_at, response
FROM ops.commands WHERE request_id = CAST(:request_id AS uuid)
""")
AUDIT_EXISTS_SQL = text("SELECT to_regclass('ops.audit_log') IS NOT NULL")


def publish_command(mqtt_url: str, topic: str, payload: bytes, timeout_s: float = 5.0) -> None:
    """Publish one QoS 1 message and wait for the broker's PUBACK (ConnectionError if it does not come)."""
    host, port = mqtt_host_port(mqtt_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"mcs-commands-{uuid.uuid4().hex[:12]}")
    try:
        client.connect(host, port, keepalive=30)
    except OSError as exc:
        raise ConnectionError(f"broker {host}:{port} unreachable: {exc}") from None
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1, retain=False)
        info.wait_for_publish(timeout_s)
        if not info.is_published():
            raise ConnectionError(f"broker {host}:{port} did not acknowledge the command within {timeout_s:.0f} s")
    finally:
        client.disconnect()
        client.loop_stop()


def request_command(engine: Engine, mqtt_url: str, site_id: str, block_id: str, cmd: str,
                    params: dict[str, Any] | None, source: str, target: str | None = None, *,
                    role: str = "operator") -> str:
    """Record, audit and publish a command; returns its request_id. Status 'sent' once the broker has it,
    'error' (with the reason in `response`) if the broker could not be reached."""
    params = dict(params or {})
    if cmd not in wire.COMMANDS:
        raise UserError(f"unknown command {cmd!r}; known: {', '.join(wire.COMMANDS)}")
    if not source:
        raise UserError("a command needs a source (e.g. operator:j.doe)")
    if cmd == "mode_override" and not str(params.get("reason") or "").strip():
        raise UserError("mode_override needs params.reason (it is audited)")
    target = target or DEFAULT_TARGETS.get(cmd, "edge")
    try:
        topic = wire.command_topic(site_id, block_id, target)
        wire.parse_topic(topic)
    except (ValueError, wire.WireError) as exc:
        raise UserError(f"bad command target: {exc}") from None
    request_id = str(uuid.uuid4())
    message = wire.Command(wire.as_datetime(time.time()), cmd, params, source, request_id)
    payload = wire.encode_command(message)
    with engine.begin() as conn:
        if conn.execute(BLOCK_SQL, {"site_id": site_id, "block_id": block_id}).first() is None:
            raise UserError(f"no registered block {site_id}/{block_id}")
        conn.execute(INSERT_SQL, {"request_id": request_id, "site_id": site_id, "block_id": block_id,
                                  "target": target, "cmd": cmd, "params": json.dumps(params), "source": source})
        if conn.execute(AUDIT_EXISTS_SQL).scalar():
            from mcs.audit import record

            record(conn, source, role, f"command.{cmd}", request_id, params.get("reason"),
                   {"site_id": site_id, "block_id": block_id, "target": target, "params": params})
    try:
        publish_command(mqtt_url, topic, payload)
    except ConnectionError as exc:
        with engine.begin() as conn:
            conn.execute(FAILED_SQL, {"request_id": request_id, "response": json.dumps({"reason": str(exc)})})
        return request_id
    with engine.begin() as conn:
        conn.execute(SENT_SQL, {"request_id": request_id})
    return request_id


def expire_commands(engine: Engine, older_than_s: float = 30) -> int:
    """Mark commands unanswered after `older_than_s` as 'timed_out'; returns how many."""
    with engine.begin() as conn:
        return conn.execute(EXPIRE_SQL, {"older_than_s": float(older_than_s)}).rowcount


def command_status(engine: Engine, request_id: str) -> dict[str, Any] | None:
    """The command's row (status, timestamps, response) or None for an unknown request_id."""
    try:
        uuid.UUID(str(request_id))
    except ValueError:
        return None
    with engine.connect() as conn:
        row = conn.execute(STATUS_SQL, {"request_id": str(request_id)}).mappings().first()
    return dict(row) if row is not None else None
