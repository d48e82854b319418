"""Registry figures: parsing the site files, and syncing a fleet into ref.* (real PostgreSQL).

1. Loader: the demo sites (810 points) parsed and validated, points per second.
2. Sync of a synthetic fleet of N blocks (copies of the demo block, 270 points each): first load,
   a no-op reload (the common case at every `mcs up`), one changed point, one removed block —
   each as time and as a ratio to the first load measured in the same run.

    .venv/bin/python bench/registry_sync.py [--blocks 50]

Uses MCS_BENCH_DATABASE_URL (a superuser URL; a scratch database is created and dropped) or starts
an embedded PostgreSQL, like the other benchmarks (bench/scratch_db.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch_db import scratch_database  # noqa: E402
from mcs.db.engine import make_engine  # noqa: E402
from mcs.registry import SiteDefinition, load_site_files, sync_registry  # noqa: E402

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

    with scratch_database() as db:
        engine = make_engine(db.url)
        try:
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


if __name__ == "__main__":
    main()
