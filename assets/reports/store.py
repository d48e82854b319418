"""The report store: files under settings.reports_path and their row in ops.report_artifacts.

Layout: `<reports_path>/<site>/<period>/<report>_<site>_<period>_<hash12>.{pdf,xlsx}` — the content
hash in the name means a re-run on unchanged data rewrites the same file with the same bytes, and
changed data never overwrites an artifact that may already have been sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sqlalchemy import Connection, text

REPO_ROOT = Path(__file__).resolve().parents[2]

UPSERT_ARTIFACT = text("""
INSERT INTO ops.report_artifacts (report, site_id, period, pdf_path, data_path, content_hash, data_window,
                                  window_start, window_end, code_version, run_id, totals, row_count)
VALUES (:report, :site_id, :period, :pdf_path, :data_path, :content_hash, :data_window,
        :window_start, :window_end, :code_version, :run_id, CAST(:totals AS jsonb), :row_count)
ON CONFLICT (report, site_id, period, content_hash) DO UPDATE
SET pdf_path = EXCLUDED.pdf_path, data_path = EXCLUDED.data_path, code_version = EXCLUDED.code_version,
    run_id = EXCLUDED.run_id, totals = EXCLUDED.totals, row_count = EXCLUDED.row_count, last_built_at = now()
RETURNING id
""")


@dataclass(frozen=True)
class StoredArtifact:
    artifact_id: int
    pdf_path: Path
    data_path: Path


@lru_cache(maxsize=1)
def code_version() -> str:
    """The git commit of the code that built the report, else the installed package version."""
    try:
        sha = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, check=True, timeout=5).stdout.strip()
        if sha:
            return f"git:{sha}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"mcs-platform {version('mcs-platform')}"
    except PackageNotFoundError:
        return "unknown"


def artifact_paths(root: Path, report: str, site_id: str, period: str, content_hash: str) -> tuple[Path, Path]:
    stem = f"{report}_{site_id}_{period}_{content_hash[:12]}"
    folder = root / site_id / period
    return folder / f"{stem}.pdf", folder / f"{stem}.xlsx"


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # readable by the app's process (mkstemp creates 0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_artifact(conn: Connection, *, report: str, site_id: str, period: str, pdf_path: Path, data_path: Path,
                    content_hash: str, window: tuple[datetime, datetime], run_id: str, totals: dict[str, float],
                    row_count: int) -> int:
    data_window = f"{window[0].isoformat()}/{window[1].isoformat()}"
    return conn.execute(UPSERT_ARTIFACT, {
        "report": report, "site_id": site_id, "period": period, "pdf_path": str(pdf_path),
        "data_path": str(data_path), "content_hash": content_hash, "data_window": data_window,
        "window_start": window[0], "window_end": window[1], "code_version": code_version(), "run_id": run_id,
        "totals": json.dumps(totals, sort_keys=True), "row_count": row_count,
    }).scalar_one()
