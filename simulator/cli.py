"""`mcs simulate`, `mcs scenario list|run|stop|active`, `mcs backfill` (entry points in pyproject.toml)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal

import click

from mcs.db.engine import make_engine
from mcs.runtime import UserError, check_database, database_url, mqtt_url
from mcs.settings import get_settings
from simulator import scenario_store
from simulator.scenarios import SCENARIOS, resolve

DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
UNITS_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text_: str | None) -> float | None:
    if text_ is None:
        return None
    m = DURATION_RE.match(text_.strip().lower())
    if not m:
        raise click.BadParameter(f"{text_!r}: expected e.g. 90s, 10m, 2h")
    return float(m.group(1)) * UNITS_S[m.group(2)]


def _db() -> str:
    url = database_url(get_settings())
    check_database(url)
    return url


@click.command("simulate")
@click.option("--site", "site_id", default=None, help="Only this site (default: every registered block).")
@click.option("--seed", default=0, show_default=True, help="Model seed (the same seed as the backfill).")
@click.option("--publish/--no-publish", default=True, show_default=True,
              help="Publish `mqtt` points and mode/state messages directly on the broker.")
@click.option("--mode-messages/--no-mode-messages", default=True, show_default=True,
              help="Publish mode/state on each PLC mode transition (off when the edge derives them).")
def simulate(site_id: str | None, seed: int, publish: bool, mode_messages: bool) -> None:
    """Run the site simulator: device servers and direct publishers for every registered block."""
    from simulator.runner import SimulationOptions, run_simulation

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = _db()
    options = SimulationOptions(site_id=site_id, seed=seed, mqtt_url=mqtt_url(get_settings()) if publish else None,
                                publish_modes=mode_messages)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_simulation(url, options, stop)

    asyncio.run(main())


@click.group("scenario")
def scenario() -> None:
    """Inject plant faults into the running simulator."""


@scenario.command("list")
def scenario_list() -> None:
    """Known scenarios, their parameters, and the ones active now."""
    for name, s in SCENARIOS.items():
        params = " ".join(f"{k}={v}" for k, v in s.defaults.items())
        click.echo(f"{name:<16} {s.description}" + (f"  [{params}]" if params else ""))
    try:
        engine = make_engine(_db())
    except UserError:
        return
    try:
        active = scenario_store.active(engine)
    finally:
        engine.dispose()
    click.echo(f"\nactive: {len(active)}")
    for a in active:
        until = a.ends_at.isoformat(timespec="seconds") if a.ends_at else "until stopped"
        click.echo(f"  #{a.id} {a.name} {a.site_id}/{a.block_id} {json.dumps(a.params)} since "
                   f"{a.started_at.isoformat(timespec='seconds')} {until}")


@scenario.command("run")
@click.argument("name")
@click.option("--site", "site_id", required=True)
@click.option("--block", "block_id", required=True)
@click.option("--duration", default=None, help="Stop automatically after e.g. 90s, 10m, 2h (default: until stopped).")
@click.option("--param", "params", multiple=True, help="key=value scenario parameter, e.g. --param zone=2.")
def scenario_run(name: str, site_id: str, block_id: str, duration: str | None, params: tuple[str, ...]) -> None:
    """Start scenario NAME on one block (the running `mcs simulate` picks it up within 2 s)."""
    parsed = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected key=value")
        parsed[key] = json.loads(value) if value.replace(".", "", 1).lstrip("-").isdigit() else value
    try:
        definition, merged = resolve(name, parsed)
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None
    engine = make_engine(_db())
    try:
        scenario_id = scenario_store.start(engine, site_id, block_id, definition.name, merged,
                                           parse_duration(duration), requested_by="cli")
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None
    finally:
        engine.dispose()
    click.echo(f"scenario #{scenario_id} {definition.name} on {site_id}/{block_id} {json.dumps(merged)}"
               + (f" for {duration}" if duration else " until `mcs scenario stop`"))


@scenario.command("stop")
@click.option("--site", "site_id", default=None)
@click.option("--block", "block_id", default=None)
@click.option("--name", default=None, help="Only this scenario (default: all matching).")
def scenario_stop(site_id: str | None, block_id: str | None, name: str | None) -> None:
    """Stop active scenarios (all, or those of a site/block/name): the plant returns to normal."""
    engine = make_engine(_db())
    try:
        n = scenario_store.stop(engine, site_id, block_id, name)
    finally:
        engine.dispose()
    click.echo(f"stopped {n} scenario(s)")


@click.command("backfill")
@click.option("--days", type=float, required=True, help="Days of history up to now.")
@click.option("--site", "site_id", default=None, help="Only this site (default: every registered block).")
@click.option("--seed", default=0, show_default=True)
@click.option("--resolution", "resolution_s", default=60, show_default=True,
              help="Seconds between samples of each point (a multiple of 60).")
@click.option("--progress/--no-progress", default=True, show_default=True)
def backfill(days: float, site_id: str | None, seed: int, resolution_s: int, progress: bool) -> None:
    """Generate N days of the block model into raw.telemetry and raw.mode_events (idempotent)."""
    from simulator.backfill import backfill as run_backfill

    report = run_backfill(_db(), days, site_id=site_id, seed=seed, resolution_s=resolution_s, progress=progress)
    click.echo(f"backfill {report.start:%Y-%m-%d %H:%M} → {report.end:%Y-%m-%d %H:%M} UTC "
               f"blocks={','.join(report.blocks) or 'none'} rows generated={report.rows_generated:,} "
               f"inserted={report.rows_inserted:,} mode events={report.mode_events} "
               f"in {report.seconds:.1f} s ({report.rows_per_s:,.0f} rows/s)")
