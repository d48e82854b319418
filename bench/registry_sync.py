"""Registry figures: parsing the site files, and syncing a fleet into ref.* (real PostgreSQL).

1. Loader: the demo sites (810 points) parsed and validated, points per second.
2. Sync of a synthetic fleet of N blocks (copies of the demo block, 270 points each): first load,
   a no-op reload (the common case at every `mcs up`), one changed point, one removed block —
   each as time and as a ratio to the first load measured in the same run.

    .venv/bin/python bench/registry_sync.py [--blocks 50]

Uses MCS_TEST_DATABASE_URL (a superuser URL) when set, else an embedded server on a free port.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psycopg
from sqlalchemy.engine import make_url

from mcs.db.engine import libpq_url, make_engine
from mcs.db.migrate import upgrade
from mcs.local_services.broker import free_port
from mcs.local_services.postgres import EmbeddedPostgres
from mcs.registry import SiteDefinition, load_site_files, sync_registry

SITES_DIR = Path(__file__).resolve().parents[1] / "sites"
T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def fleet(template: SiteDefinition, blocks: int) -> SiteDefinition:
    """One site with `blocks` copies of the template's first block."""
    base = template.blocks[0]
    copies = tuple(base.model_copy(update={"block": base.block.model_copy(update={"block_id": f"block-{i:02d}"})})
                   for i in range(1, blocks + 1))
    site = template.site.model_copy(update={"site_id": "bench-fleet"})
    return template.model_copy(update={"site": site, "blocks": copies, "contracts": ()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=50, help="blocks in the synthetic fleet (max 99)")
    args = parser.parse_args()

    sites, load_s = timed(lambda: load_site_files(SITES_DIR))
    n_points = sum(s.point_count() for s in sites)
    print(f"loader   {n_points} points validated in {load_s * 1000:.0f} ms ({n_points / load_s:,.0f} points/s)")

    server = None
    given = os.environ.get("MCS_TEST_DATABASE_URL")
    if given:
        admin = libpq_url(given)
    else:
        server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="mcs-bench-")), free_port(), durable=False)
        admin = server.start()
    name = f"mcs_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(url, timescaledb="off")
        site = fleet(sites[0], args.blocks)
        total = site.point_count()
        report, first = timed(lambda: sync_registry(engine, [site]))
        assert report.points.added == total
        report, noop = timed(lambda: sync_registry(engine, [site]))
        assert not report.changed
        block = site.blocks[0]
        edited = tuple(p.model_copy(update={"description": p.description + " (edited)"}) if p.tag == "TT-L2s"
                       else p for p in block.points)
        changed_site = site.model_copy(update={"blocks": (block.model_copy(update={"points": edited}),
                                                          *site.blocks[1:])})
        report, one = timed(lambda: sync_registry(engine, [changed_site]))
        assert report.points.updated == 1
        smaller = changed_site.model_copy(update={"blocks": changed_site.blocks[:-1]})
        report, retire = timed(lambda: sync_registry(engine, [smaller]))
        assert report.points.retired == len(block.points)
        print(f"sync     fleet of {args.blocks} blocks, {total} points")
        print(f"  first load        {first * 1000:8.0f} ms  ({total / first:,.0f} points/s)   1.00")
        for label, seconds in (("no-op reload", noop), ("one point changed", one), ("one block removed", retire)):
            print(f"  {label:<17} {seconds * 1000:8.0f} ms                         {seconds / first:.2f}")
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
