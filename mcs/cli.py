"""The `mcs` command line.

Core commands (up, status, db, sites, points, dbt) live in the shared kernel. Components plug in
their own commands through the `mcs.commands` entry-point group (see pyproject.toml); they are loaded
only when invoked, so `mcs` never imports a component it does not run.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click

from mcs.runtime import UserError, check_database, database_url

# Absolute, so `mcs dbt` works from any directory of an editable install (the project is not packaged).
DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt"


class PlatformCLI(click.Group):
    """A click group that adds the components' commands from entry points, lazily."""

    def _plugins(self) -> dict[str, object]:
        return {ep.name: ep for ep in entry_points(group="mcs.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        plugin = self._plugins().get(cmd_name)
        if plugin is None:
            return None
        try:
            return plugin.load()  # type: ignore[attr-defined]
        except ImportError as exc:
            return _unavailable(cmd_name, str(exc))

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


def _unavailable(name: str, reason: str) -> click.Command:
    @click.command(name, help=f"(not installed in this checkout: {reason})",
                   context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def command() -> None:
        raise UserError(f"`mcs {name}` is not available in this checkout: {reason}")

    return command


@click.group(cls=PlatformCLI)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def cli(verbose: bool) -> None:
    """MCS data platform: monitoring and billing of waste-heat compute sites."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)


@cli.command()
@click.option("--only", default=None, metavar="NAMES",
              help="Comma-separated components to start (simulator, edge, ingestor, alarm-engine, "
                   "dagster-webserver, dagster-daemon, streamlit, backfill); default: all.")
def up(only: str | None) -> None:
    """Start the whole platform on embedded defaults (Ctrl-C stops it)."""
    from mcs.stack import up as run_platform

    run_platform(only={name.strip() for name in only.split(",") if name.strip()} if only else None)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status(as_json: bool) -> None:
    """Health of database, broker and every platform component."""
    from mcs.health import platform_status

    report = platform_status()
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    db, broker = report["database"], report["broker"]
    click.echo(f"database  {'ok ' if db['ok'] else 'DOWN'} {db['url']}  storage={db['storage']}")
    if db.get("error"):
        click.echo(f"          {db['error']}")
    click.echo(f"broker    {'ok ' if broker['ok'] else 'DOWN'} {broker['url']}")
    if broker.get("error"):
        click.echo(f"          {broker['error']}")
    for name, comp in report["components"].items():
        click.echo(f"{name:<28} {'ok ' if comp['ok'] else 'DOWN'} last seen {comp['last_seen'] or '-'}")
    for finding in report["findings"]:
        click.echo(f"{finding['priority']} {finding['code']:<20} {finding['subject']}: {finding['message']}")
    for name, url in report["urls"].items():
        click.echo(f"{name:<9} {url}")


@cli.group()
def db() -> None:
    """Database schema and storage maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (TimescaleDB path when the extension is available)."""
    from mcs.db.migrate import upgrade as run_upgrade

    url = database_url()
    check_database(url)
    run_upgrade(url)
    from mcs.db.storage import storage_mode

    click.echo(f"database upgraded; storage mode: {storage_mode(url)}")


@db.command("maintain")
def db_maintain() -> None:
    """Create upcoming partitions and apply retention (run hourly; safe to run anywhere, any time)."""
    from mcs.db.storage import run_maintenance

    url = database_url()
    check_database(url)
    click.echo(json.dumps(run_maintenance(url)))


def _mount_registry_commands() -> None:
    try:
        from mcs.registry.cli import points, sites
    except ImportError:
        return
    cli.add_command(sites)
    cli.add_command(points)


_mount_registry_commands()


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def dbt(dbt_args: tuple[str, ...]) -> None:
    """Run dbt on the platform database, e.g. `mcs dbt build --select marts`."""
    from mcs.db.engine import libpq_env

    url = database_url()
    check_database(url)
    env = {**os.environ, **libpq_env(url)}
    args = list(dbt_args) or ["build"]
    if "--project-dir" not in args:
        args += ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    dbt_bin = Path(sys.executable).parent / "dbt"
    raise SystemExit(subprocess.call([str(dbt_bin), *args], env=env))


def main() -> None:
    cli(prog_name="mcs")


if __name__ == "__main__":
    main()
