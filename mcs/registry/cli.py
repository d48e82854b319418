"""`mcs sites …` and `mcs points …` (mounted by mcs.cli)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import click
from sqlalchemy import Engine

from mcs.registry.errors import RegistryError
from mcs.registry.loader import load_site_files
from mcs.registry.models import SiteDefinition
from mcs.settings import get_settings

SITES_DIR_OPTION = click.option("--sites-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                                help="Site files directory (default: MCS_SITES_DIR, ./sites).")


def _load(sites_dir: Path | None) -> list[SiteDefinition]:
    try:
        return load_site_files(sites_dir or get_settings().sites_dir)
    except RegistryError as exc:
        for line in exc.errors:
            click.echo(f"error: {line}", err=True)
        click.echo(f"{len(exc.errors)} problem(s) in the site files; nothing was loaded", err=True)
        sys.exit(1)


def _engine() -> Engine:
    from mcs.db.engine import make_engine
    from mcs.runtime import check_database, database_url

    url = database_url()
    check_database(url)
    return make_engine(url)


@click.group()
def sites() -> None:
    """Site definitions: validate the YAML/CSV files and load them into the registry."""


@sites.command("validate")
@SITES_DIR_OPTION
def sites_validate(sites_dir: Path | None) -> None:
    """Check the site files without touching the database."""
    for site in _load(sites_dir):
        blocks = ", ".join(f"{b.block_id} ({len(b.points)} points)" for b in site.blocks)
        click.echo(f"{site.site_id}: {blocks}; {len(site.contracts)} contract(s)")


@sites.command("load")
@SITES_DIR_OPTION
@click.option("--dry-run", is_flag=True, help="Report what would change, change nothing.")
def sites_load(sites_dir: Path | None, dry_run: bool) -> None:
    """Validate the site files and upsert them into ref.* (idempotent; removed points are retired)."""
    from mcs.registry.sync import sync_registry

    definitions = _load(sites_dir)
    engine = _engine()
    try:
        report = sync_registry(engine, definitions, dry_run=dry_run)
    finally:
        engine.dispose()
    click.echo(("dry run, nothing written: " if dry_run else "") + str(report))


@click.group()
def points() -> None:
    """Registered points."""


@points.command("list")
@click.option("--site", "site_id", default=None, help="Only this site.")
@click.option("--block", "block_id", default=None, help="Only this block.")
@click.option("--subsystem", default=None, help="Only this subsystem.")
@click.option("--include-retired", is_flag=True, help="Also list retired points.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array with every registry field.")
def points_list(site_id: str | None, block_id: str | None, subsystem: str | None, include_retired: bool,
                as_json: bool) -> None:
    """List registered points (point_id, site, block, subsystem, tag, unit, kind, protocol, address)."""
    from mcs.registry.queries import points_for

    engine = _engine()
    try:
        rows = points_for(engine, site_id, block_id, include_retired=include_retired)
    finally:
        engine.dispose()
    rows = [r for r in rows if subsystem is None or r.subsystem == subsystem]
    if as_json:
        click.echo(json.dumps([{"site": r.site_id, "block": r.block_id, **r.as_dict()} for r in rows],
                              default=str, ensure_ascii=False, indent=1))
        return
    header = ("point_id", "site", "block", "subsystem", "tag", "unit", "kind", "protocol", "address")
    table = [header] + [(str(r.point_id), r.site_id, r.block_id, r.subsystem, r.tag + (" (retired)" if r.retired
                         else ""), r.unit, r.kind, r.protocol, r.address or "") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    click.echo(f"{len(rows)} point(s)", err=True)


UNREGISTERED_SQL = """
SELECT site_id, block_id, subsystem, tag, unit, count(*) AS readings, min(ts) AS first_ts, max(ts) AS last_ts
FROM raw.unregistered_readings
WHERE (CAST(:site AS text) IS NULL OR site_id = :site)
GROUP BY site_id, block_id, subsystem, tag, unit
ORDER BY site_id, block_id, subsystem, tag, unit
"""


@points.command("unregistered")
@click.option("--site", "site_id", default=None, help="Only this site.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array.")
def points_unregistered(site_id: str | None, as_json: bool) -> None:
    """Readings the ingestor holds for tags of known blocks that are not in the registry (commissioning).

    Register the point (site files, then `mcs sites load`) and the ingestor moves them into
    raw.telemetry on its next registry refresh."""
    from sqlalchemy import text

    engine = _engine()
    try:
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(text(UNREGISTERED_SQL), {"site": site_id})]
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=1))
        return
    header = ("site", "block", "subsystem", "tag", "unit", "readings", "first_ts", "last_ts")
    table = [header] + [tuple(str(r[k] if r[k] is not None else "") for k in
                              ("site_id", "block_id", "subsystem", "tag", "unit", "readings", "first_ts", "last_ts"))
                        for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    click.echo(f"{len(rows)} unregistered tag(s)", err=True)


@points.command("export")
@click.option("--site", "site_id", required=True, help="Site to export.")
@click.option("--block", "block_id", required=True, help="Block to export.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="CSV file to write (default: standard output).")
def points_export(site_id: str, block_id: str, output: TextIO) -> None:
    """Write a block's registered points as a point-schedule CSV (as-built handover)."""
    from mcs.registry.queries import points_for
    from mcs.registry.schedule import write_schedule

    engine = _engine()
    try:
        rows = points_for(engine, site_id, block_id)
    finally:
        engine.dispose()
    if not rows:
        raise click.ClickException(f"no registered points for {site_id}/{block_id}")
    write_schedule([r.to_point() for r in rows], output)
