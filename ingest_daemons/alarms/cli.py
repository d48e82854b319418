"""`mcs alarms`: run the engine, list alarms, act on them, replay history."""

from __future__ import annotations

import getpass
import json
import logging
import os
import signal
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy import text

from mcs.runtime import UserError, database_url, mqtt_url

STATES = ("open", "all", "ACTIVE_UNACK", "ACTIVE_ACK", "RTN_UNACK", "CLOSED", "shelved", "suppressed",
          "out_of_service")

LIST_SQL = """
SELECT alarm_id, site_id, block_id, tag, priority, state, raised_at, kind, subsystem, value, threshold,
       last_value, acked_by, shelved_until, suppressed_by, out_of_service, chattering, description
FROM ops.alarms
WHERE (CAST(:site AS text) IS NULL OR site_id = :site)
  AND (CAST(:block AS text) IS NULL OR block_id = :block)
  AND CASE :state
        WHEN 'all' THEN true
        WHEN 'open' THEN state <> 'CLOSED'
        WHEN 'shelved' THEN state <> 'CLOSED' AND shelved_until > now()
        WHEN 'suppressed' THEN state <> 'CLOSED' AND suppressed_by IS NOT NULL
        WHEN 'out_of_service' THEN state <> 'CLOSED' AND out_of_service
        ELSE state = :state END
ORDER BY priority, raised_at DESC
LIMIT :limit
"""


def _engine() -> Any:
    from mcs.db.engine import make_engine

    return make_engine(database_url())


def _when(value: str) -> datetime:
    """ISO 8601; a time without an offset is UTC."""
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time (e.g. 2026-03-01T00:00:00Z)") from None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _actor_options(f: Any) -> Any:
    f = click.option("--role", default=lambda: os.environ.get("MCS_ROLE", "operator"), show_default="operator",
                     help="Role you act in (only operator/admin may act; env MCS_ROLE).")(f)
    return click.option("--actor", default=lambda: os.environ.get("MCS_ACTOR") or getpass.getuser(),
                        help="Who acts (default: env MCS_ACTOR or the login name); audited.")(f)


@click.group("alarms")
def alarms() -> None:
    """ISA-18.2 alarms: the live engine, the alarm list, operator actions, history replay."""


@alarms.command("run")
@click.option("--group", default=None, help="Shared-subscription group (default mcs-alarms; env MCS_ALARMS_GROUP).")
@click.option("--client-id", default=None, help="Stable MQTT client id (default mcs-alarms-{instance}).")
def run(group: str | None, client_id: str | None) -> None:
    """Run the live alarm engine until SIGTERM/Ctrl-C (keeps its session: restart-safe); SIGUSR1 leaves the
    shared group for good (scale-down)."""
    from ingest_daemons.alarms.config import AlarmSettings
    from ingest_daemons.alarms.engine import AlarmEngine

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in {"group": group, "client_id": client_id}.items() if v is not None}
    eng = AlarmEngine(database_url(), mqtt_url(), AlarmSettings(**overrides))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: eng.stop())
    signal.signal(signal.SIGUSR1, lambda *_: eng.leave())  # scale-down: leave the group, end the session
    eng.run()


@alarms.command("list")
@click.option("--site", default=None)
@click.option("--block", default=None)
@click.option("--state", type=click.Choice(STATES), default="open", show_default=True)
@click.option("--limit", type=click.IntRange(1, 100_000), default=500, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
def list_(site: str | None, block: str | None, state: str, limit: int, as_json: bool) -> None:
    """Alarms (site, block, tag, priority, state, raised_at), most severe first."""
    engine = _engine()
    try:
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(text(LIST_SQL), {"site": site, "block": block, "state": state,
                                                                   "limit": limit}).mappings()]
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(rows, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v),
                              indent=1))
        return
    if not rows:
        click.echo("no alarms")
        return
    click.echo(f"{'site':<18} {'block':<9} {'tag':<18} {'prio':<4} {'state':<13} {'raised_at':<25} flags  alarm_id")
    for r in rows:
        flags = "".join(c for c, on in (("S", r["shelved_until"] and r["shelved_until"] > datetime.now(UTC)),
                                        ("D", r["suppressed_by"]), ("O", r["out_of_service"]),
                                        ("C", r["chattering"])) if on)
        click.echo(f"{r['site_id']:<18} {r['block_id']:<9} {r['tag']:<18} {r['priority']:<4} {r['state']:<13} "
                   f"{r['raised_at'].isoformat(timespec='seconds'):<25} {flags:<6} {r['alarm_id']}")


@alarms.command("ack")
@click.argument("alarm_ids", nargs=-1, required=True)
@click.option("--comment", default=None)
@_actor_options
def ack(alarm_ids: tuple[str, ...], comment: str | None, actor: str, role: str) -> None:
    """Acknowledge one or more alarms."""
    from mcs.alarms import actions

    engine = _engine()
    try:
        done = actions.ack(engine, list(alarm_ids), actor, role, comment)
    finally:
        engine.dispose()
    click.echo(f"acknowledged {len(done)} of {len(alarm_ids)}" + (f": {', '.join(done)}" if done else
                                                                  " (already acknowledged or closed)"))


@alarms.command("shelve")
@click.argument("alarm_id")
@click.option("--hours", type=click.FloatRange(1 / 60, 24), default=8.0, show_default=True)
@click.option("--reason", required=True, help="Why (3–500 characters); audited.")
@_actor_options
def shelve(alarm_id: str, hours: float, reason: str, actor: str, role: str) -> None:
    """Shelve an open alarm for up to 24 h."""
    from mcs.alarms import actions

    engine = _engine()
    try:
        done = actions.shelve(engine, alarm_id, actor, role, hours, reason)
    finally:
        engine.dispose()
    click.echo(f"shelved {alarm_id} for {hours:g} h" if done else f"{alarm_id}: nothing to do")


@alarms.command("unshelve")
@click.argument("alarm_id")
@click.option("--reason", default=None)
@_actor_options
def unshelve(alarm_id: str, reason: str | None, actor: str, role: str) -> None:
    """End a shelve now."""
    from mcs.alarms import actions

    engine = _engine()
    try:
        done = actions.unshelve(engine, alarm_id, actor, role, reason)
    finally:
        engine.dispose()
    click.echo(f"unshelved {alarm_id}" if done else f"{alarm_id} was not shelved")


@alarms.command("replay")
@click.option("--from", "start", required=True, type=_when, help="Start (ISO 8601; UTC if no offset).")
@click.option("--to", "end", required=True, type=_when, help="End, exclusive.")
@click.option("--site", default=None)
@click.option("--block", default=None)
@click.option("--json", "as_json", is_flag=True)
def replay(start: datetime, end: datetime, site: str | None, block: str | None, as_json: bool) -> None:
    """Run the alarm state machine over stored telemetry and mode events; idempotent."""
    from ingest_daemons.alarms.replay import replay as do_replay

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = _engine()
    try:
        report = do_replay(engine, database_url(), start, end, site, block)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
        return
    click.echo(f"replayed {report.rows} readings of {', '.join(report.blocks)} in {report.seconds:.1f} s "
               f"({report.rows_per_s:,.0f} rows/s): {report.alarms} alarms, {report.events} events; "
               f"new {report.alarms_written} alarms / {report.events_written} events"
               + (f"; {report.skipped_conflicts} skipped (open live instance)" if report.skipped_conflicts else ""))


__all__ = ["UserError", "alarms"]
