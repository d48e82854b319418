"""An embedded PostgreSQL server that the platform owns, for machines without a database URL.

`mcs up` and the test fixtures use it when `MCS_DATABASE_URL` is not set. The server binaries come
from the machine (pg_ctl on PATH or /usr/lib/postgresql/*/bin) or, on a machine with none, from the
`pgserver` wheel, which ships them. When the machine's TimescaleDB library is installed beside the
binaries it is preloaded, so the storage layer takes its TimescaleDB path.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mcs.runtime import UserError

log = logging.getLogger(__name__)

SUPERUSER = "postgres"


class EmbeddedPostgresError(UserError):
    """The embedded server could not be found, initialised or started (printed as one line)."""


def find_bin_dir() -> Path:
    """The directory holding initdb/pg_ctl/postgres (and pg_dump), newest major version first."""
    on_path = shutil.which("pg_ctl")
    candidates: list[Path] = []
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _major(p), reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    try:
        from pgserver._commands import POSTGRES_BIN_PATH  # the wheel's bundled server

        return Path(POSTGRES_BIN_PATH)
    except ImportError:
        pass
    raise EmbeddedPostgresError(
        "no PostgreSQL server binaries found (pg_ctl/initdb): install PostgreSQL, `pip install pgserver`, "
        "or set MCS_DATABASE_URL to an existing server"
    )


def _major(bin_dir: Path) -> int:
    try:
        return int(bin_dir.parent.name)
    except ValueError:
        return 0


def _timescaledb_installed(bin_dir: Path) -> bool:
    pg_config = bin_dir / "pg_config"
    if not pg_config.exists():
        return False
    libdir = subprocess.run([str(pg_config), "--pkglibdir"], capture_output=True, text=True).stdout.strip()
    return bool(libdir) and any(Path(libdir).glob("timescaledb*.so"))


def _server_account() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root; as root we run it as an unprivileged system account."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "mcs-postgres"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "mcs-postgres"],
                   check=True)
    return pwd.getpwnam("mcs-postgres")


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    # Tests trade durability for speed; the platform's own server keeps fsync on.
    durable: bool = True
    bin_dir: Path = field(default_factory=find_bin_dir)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        account = _server_account()
        kwargs: dict[str, object] = {}
        if account is not None:
            kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        return subprocess.run([str(self.bin_dir / args[0]), *args[1:]], capture_output=True, text=True,
                              check=False, cwd="/", **kwargs)  # type: ignore[arg-type]

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        account = _server_account()
        if account is not None:
            for path in (self.data_dir, *self.data_dir.resolve().parents):
                # The server account must be able to traverse down to its data directory.
                if path != Path("/"):
                    path.chmod(path.stat().st_mode | 0o001)
            os.chown(self.data_dir, account.pw_uid, account.pw_gid)

    def initialise(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self._prepare_dirs()
        result = self._run("initdb", "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=trust",
                           "-E", "UTF8", "--locale=C")
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
        settings = [
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "max_connections = 300",
            "shared_buffers = '256MB'",
            "max_wal_size = '2GB'",
        ]
        if not self.durable:
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        if _timescaledb_installed(self.bin_dir):
            # No background scheduler: on PostgreSQL 15.20 TimescaleDB 2.28's jobs fail ("cannot drop
            # portal"), so `mcs db maintain` runs the policies explicitly (mcs.db.storage).
            settings += ["shared_preload_libraries = 'timescaledb'", "timescaledb.telemetry_level = off",
                         "timescaledb.max_background_workers = 0"]
        with open(self.pgdata / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# written by mcs.local_services.postgres\n" + "\n".join(settings) + "\n")

    def is_running(self) -> bool:
        return self._run("pg_ctl", "status", "-D", str(self.pgdata)).returncode == 0

    def start(self, timeout_s: int = 60) -> str:
        """Initialise if needed, start (or reuse a running server), and return the superuser URL."""
        self.initialise()
        if not self.is_running():
            result = self._run("pg_ctl", "start", "-w", "-t", str(timeout_s), "-D", str(self.pgdata),
                               "-l", str(self.logfile), "-o", f"-p {self.port}")
            if result.returncode != 0:
                raise EmbeddedPostgresError(
                    f"the embedded PostgreSQL did not start on port {self.port}: {self._last_error()} "
                    f"(full log: {self.logfile}; another port: MCS_EMBEDDED_POSTGRES_PORT)")
        return self.url()

    def _last_error(self) -> str:
        lines = self.logfile.read_text(errors="replace").splitlines() if self.logfile.exists() else []
        errors = [line for line in lines if "FATAL" in line or "ERROR" in line or "could not" in line]
        if errors:
            return errors[0].strip()
        return lines[-1].strip() if lines else "no log written"

    def stop(self) -> None:
        if (self.pgdata / "PG_VERSION").exists() and self.is_running():
            self._run("pg_ctl", "stop", "-m", "fast", "-w", "-D", str(self.pgdata))

    def ensure_database(self, name: str) -> str:
        """Create `name` if missing and return its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')  # name is ours, never user input
        return self.url(name)
