"""`mcs up`: the whole platform on one machine under one supervisor.

Order: database and broker (embedded unless URLs are given) → migrations → site registry → the
long-running processes (simulator, edge pollers, ingestor, alarm engine, Dagster, Streamlit) → one-shot
start-up tasks (history backfill, alarm replay). Components are separate processes started through
their CLI commands, so this module imports none of them; a component that is not installed is
skipped with a note. Ctrl-C / SIGTERM stops everything, children first.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path

import click
from sqlalchemy import text

from mcs.db.engine import libpq_url, make_engine
from mcs.db.migrate import upgrade
from mcs.db.storage import run_maintenance
from mcs.local_services.broker import EmbeddedBroker
from mcs.local_services.postgres import EmbeddedPostgres
from mcs.runtime import PLATFORM_DATABASE, UserError, check_broker, check_database
from mcs.settings import Settings, get_settings

DAGSTER_DATABASE = "mcs_dagster"
MAX_RESTARTS_PER_10_MIN = 5
MAINTENANCE_EVERY_S = 3600
READY_TIMEOUT_S = 120.0

DAGSTER_YAML = """\
# Written by `mcs up`: Dagster's run/event/schedule storage in the platform's PostgreSQL.
storage:
  postgres:
    postgres_url:
      env: MCS_DAGSTER_POSTGRES_URL
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2
    tag_concurrency_limits:
      # As infra/dagster.yaml: one dbt build at a time (scheduled and late-data builds of the same
      # incremental marts would contend), at most two report runs.
      - key: "mcs/dbt"
        limit: 1
      - key: "mcs/report"
        limit: 2
telemetry:
  enabled: false
"""


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    restart: bool = True
    # The processes after this one start only once it has reported a heartbeat under this component
    # name (ops.ingest_counters): the demo edge must not poll simulated devices that are not yet served.
    ready_component: str | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self, env: dict[str, str], log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / f"{self.name}.log", "ab") as log:
            self.process = subprocess.Popen(self.argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, timeout_s: float = 20) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # SIGTERM lets daemons flush and ack
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _has_command(name: str) -> bool:
    return any(ep.name == name for ep in entry_points(group="mcs.commands")) and _importable(
        next(ep for ep in entry_points(group="mcs.commands") if ep.name == name).module)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _mcs(*args: str) -> list[str]:
    return [sys.executable, "-m", "mcs.cli", *args]


def services(settings: Settings) -> list[ManagedProcess]:
    """The long-running processes of the platform that are installed in this checkout."""
    bin_dir = Path(sys.executable).parent
    wanted: list[tuple[bool, ManagedProcess]] = [
        (_has_command("simulate"), ManagedProcess("simulator", _mcs("simulate"), ready_component="simulator")),
        (_has_command("edge"), ManagedProcess("edge", _mcs("edge", "--all"))),
        (_has_command("ingest"), ManagedProcess("ingestor", _mcs("ingest"))),
        (_has_command("alarms"), ManagedProcess("alarm-engine", _mcs("alarms", "run"))),
        (_importable("orchestration.definitions"), ManagedProcess(
            "dagster-webserver", [str(bin_dir / "dagster-webserver"), "-m", "orchestration.definitions",
                                  "-h", "127.0.0.1", "-p", str(settings.dagster_port)])),
        (_importable("orchestration.definitions"), ManagedProcess(
            "dagster-daemon", [str(bin_dir / "dagster-daemon"), "run", "-m", "orchestration.definitions"])),
        (Path("streamlit_app/app.py").exists(), ManagedProcess(
            "streamlit", [str(bin_dir / "streamlit"), "run", "streamlit_app/app.py", "--server.headless", "true",
                          "--server.address", "127.0.0.1", "--server.port", str(settings.streamlit_port),
                          "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"])),
    ]
    return [proc for present, proc in wanted if present]


def startup_tasks(settings: Settings) -> list[ManagedProcess]:
    """One-shot tasks run in order once the services are up (history for the demo sites)."""
    tasks: list[ManagedProcess] = []
    if settings.demo_backfill_days > 0 and _has_command("backfill"):
        tasks.append(ManagedProcess("backfill", _mcs("backfill", "--days", str(settings.demo_backfill_days)),
                                    restart=False))
        if _has_command("alarms"):
            # Give backfilled history the alarm history the live engine would have produced.
            now = datetime.now(UTC).replace(microsecond=0)
            start = now - timedelta(days=settings.demo_backfill_days)
            tasks.append(ManagedProcess("alarm-replay", _mcs("alarms", "replay", "--from", start.isoformat(),
                                                             "--to", now.isoformat()), restart=False))
    return tasks


class Platform:
    def __init__(self, settings: Settings, only: set[str] | None = None) -> None:
        self.settings = settings
        self.only = only
        self.postgres: EmbeddedPostgres | None = None
        self.broker: EmbeddedBroker | None = None
        self.processes: list[ManagedProcess] = []
        self.tasks: list[ManagedProcess] = []
        self.stopping = threading.Event()
        self.log_dir = settings.data_dir / "logs"

    def start_storage(self) -> tuple[str, str, str]:
        settings = self.settings
        if settings.database_url:
            db_url = settings.database_url
            check_database(db_url)
            dagster_url = _sibling_database(db_url, DAGSTER_DATABASE)
        else:
            self.postgres = EmbeddedPostgres(settings.data_dir / "postgres", settings.embedded_postgres_port)
            self.postgres.start()
            db_url = self.postgres.ensure_database(PLATFORM_DATABASE)
            dagster_url = self.postgres.ensure_database(DAGSTER_DATABASE)
        if settings.mqtt_url:
            mqtt = settings.mqtt_url
            check_broker(mqtt)
        else:
            self.broker = EmbeddedBroker(settings.data_dir / "broker", settings.embedded_mqtt_port)
            mqtt = self.broker.start()
        return db_url, mqtt, dagster_url

    def child_env(self, db_url: str, mqtt: str, dagster_url: str) -> dict[str, str]:
        dagster_home = (self.settings.data_dir / "dagster").resolve()
        dagster_home.mkdir(parents=True, exist_ok=True)
        (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)
        env = dict(os.environ)
        env.update({
            "MCS_DATABASE_URL": db_url,
            "MCS_MQTT_URL": mqtt,
            "MCS_DATA_DIR": str(self.settings.data_dir.resolve()),
            "MCS_DAGSTER_POSTGRES_URL": libpq_url(dagster_url),
            "DAGSTER_HOME": str(dagster_home),
            "PYTHONUNBUFFERED": "1",
        })
        if self.broker is not None and self.broker.kind == "amqtt":
            # amqtt speaks MQTT 3.1.1 only: the daemons connect with 3.1.1 (one replica each, mcs.mqtt_client).
            env["MCS_MQTT_PROTOCOL"] = "3.1.1"
        return env

    def run(self) -> None:
        db_url, mqtt, dagster_url = self.start_storage()
        click.echo(f"database  {db_url}")
        click.echo(f"broker    {mqtt}")
        upgrade(db_url)
        self._load_sites(db_url)
        env = self.child_env(db_url, mqtt, dagster_url)
        self.processes = [p for p in services(self.settings) if self.only is None or p.name in self.only]
        for proc in self.processes:
            started_at = datetime.now(UTC)
            proc.start(env, self.log_dir)
            click.echo(f"started   {proc.name:<18} log: {self.log_dir / (proc.name + '.log')}")
            if proc.ready_component:
                self._wait_ready(db_url, proc, started_at)
        self.tasks = startup_tasks(self.settings) if self.only is None or "backfill" in self.only else []
        threading.Thread(target=self._run_tasks, args=(env,), daemon=True).start()
        click.echo(f"Dagster   http://127.0.0.1:{self.settings.dagster_port}")
        click.echo(f"Streamlit http://127.0.0.1:{self.settings.streamlit_port}")
        click.echo("`mcs status` shows health. Ctrl-C stops everything.")
        self._supervise(env, db_url)

    def _wait_ready(self, db_url: str, proc: ManagedProcess, started_at: datetime) -> None:
        """Block until `proc` reported a heartbeat after `started_at` (or exited, or READY_TIMEOUT_S passed)."""
        engine = make_engine(db_url)
        deadline = time.monotonic() + READY_TIMEOUT_S
        query = text("SELECT 1 FROM ops.ingest_counters WHERE component = :c AND ts >= :t LIMIT 1")
        try:
            while time.monotonic() < deadline and proc.exited() is None and not self.stopping.is_set():
                with engine.connect() as conn:
                    if conn.execute(query, {"c": proc.ready_component, "t": started_at}).first():
                        return
                time.sleep(0.5)
            click.echo(f"{proc.name} not ready after {READY_TIMEOUT_S:.0f} s; starting the rest anyway", err=True)
        finally:
            engine.dispose()

    def _load_sites(self, db_url: str) -> None:
        try:
            from mcs.registry import load_site_files, sync_registry
        except ImportError:
            click.echo("registry not installed: no sites loaded")
            return
        engine = make_engine(db_url)
        try:
            report = sync_registry(engine, load_site_files(self.settings.sites_dir))
            click.echo(f"sites     {report}")
        finally:
            engine.dispose()

    def _run_tasks(self, env: dict[str, str]) -> None:
        for task in self.tasks:
            if self.stopping.is_set():
                return
            click.echo(f"task      {task.name} started (log: {self.log_dir / (task.name + '.log')})")
            task.start(env, self.log_dir)
            while task.exited() is None and not self.stopping.is_set():
                time.sleep(0.5)
            click.echo(f"task      {task.name} finished with exit code {task.exited()}")

    def _maintain(self, db_url: str) -> None:
        """Partitions ahead, retention, TimescaleDB policies (idempotent; any replica may run it)."""
        try:
            click.echo(f"maintain  {run_maintenance(db_url)}")
        except Exception as exc:  # noqa: BLE001 - report and retry next hour; never stop the platform
            click.echo(f"maintenance failed: {exc}", err=True)

    def _supervise(self, env: dict[str, str], db_url: str) -> None:
        next_maintenance = 0.0
        while not self.stopping.wait(1.0):
            if time.monotonic() >= next_maintenance:
                threading.Thread(target=self._maintain, args=(db_url,), daemon=True).start()
                next_maintenance = time.monotonic() + MAINTENANCE_EVERY_S
            for proc in self.processes:
                code = proc.exited()
                if code is None or not proc.restart:
                    continue
                now = time.monotonic()
                proc.restarts = [t for t in proc.restarts if now - t < 600]
                if len(proc.restarts) >= MAX_RESTARTS_PER_10_MIN:
                    click.echo(f"giving up on {proc.name}: it exited {len(proc.restarts)} times in 10 min "
                               f"(see {self.log_dir / (proc.name + '.log')})", err=True)
                    proc.restart = False
                    continue
                click.echo(f"{proc.name} exited with code {code}; restarting", err=True)
                proc.restarts.append(now)
                proc.start(env, self.log_dir)

    def stop(self) -> None:
        self.stopping.set()
        for proc in reversed(self.tasks + self.processes):
            proc.stop()
        if self.broker:
            self.broker.stop()
        if self.postgres:
            self.postgres.stop()


def _sibling_database(url: str, name: str) -> str:
    """The Dagster database beside the platform's on a server given by URL (created if allowed)."""
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(libpq_url(url)).set(database=name).render_as_string(hide_password=False)
    try:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')  # constant name, not user input
    except psycopg.Error as exc:
        raise UserError(f"cannot prepare Dagster's database {name!r}: {exc}".splitlines()[0]) from None
    return target


def up(settings: Settings | None = None, only: set[str] | None = None) -> None:
    platform = Platform(settings or get_settings(), only)

    def _terminate(signum: int, _frame: object) -> None:
        platform.stopping.set()

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    try:
        platform.run()
    finally:
        click.echo("stopping …")
        platform.stop()
        click.echo("stopped")
