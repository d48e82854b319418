"""sync_registry against a real PostgreSQL: idempotence, stable ids, retirement, restoration."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, text

from mcs.registry import SiteDefinition, load_site_files, points_for, sync_registry
from tests.fixtures.registry import DEMO_SITES_DIR, demo_site_definitions, load_demo_sites


def _without_point(site: SiteDefinition, tag: str) -> SiteDefinition:
    blocks = tuple(b.model_copy(update={"points": tuple(p for p in b.points if p.tag != tag)})
                   for b in site.blocks)
    return site.model_copy(update={"blocks": blocks})


def _baldwinsville() -> SiteDefinition:
    return next(s for s in demo_site_definitions() if s.site_id == "ab-baldwinsville")


def _snapshot(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT point_id, site_id, block_id, tag, definition_hash, updated_at, retired_at "
            "FROM ref.points ORDER BY point_id"))]


def test_both_demo_sites_load_with_expected_counts(engine: Engine) -> None:
    report = load_demo_sites(engine)
    assert report.points.added == 810 and report.points.updated == 0 and report.points.retired == 0
    rows = points_for(engine)
    assert len(rows) == 810
    per_block = Counter((r.site_id, r.block_id) for r in rows)
    assert per_block == {("ab-baldwinsville", "block-01"): 270, ("rfg-foods-jhb", "block-01"): 270,
                         ("rfg-foods-jhb", "block-02"): 270}
    # The reference schedule's per-subsystem counts (§2.3) plus 14 rack energy counters in electrical.
    per_subsystem = Counter(r.subsystem for r in rows if r.site_id == "ab-baldwinsville")
    assert per_subsystem == {"electrical": 89, "thermal-l1": 30, "thermal-l2": 26, "thermal-safety": 21,
                             "environmental": 21, "network": 16, "thermal-l3": 15, "thermal-hx": 14,
                             "thermal-reject": 14, "security": 10, "host-bms": 8, "mode": 6}
    with engine.connect() as conn:
        counts = dict(conn.execute(text(
            "SELECT 'sites', count(*) FROM ref.sites UNION ALL SELECT 'blocks', count(*) FROM ref.blocks "
            "UNION ALL SELECT 'contracts', count(*) FROM ref.contracts "
            "UNION ALL SELECT 'devices', count(*) FROM ref.devices")).all())
    assert counts == {"sites": 2, "blocks": 3, "contracts": 5, "devices": 78}


def test_loading_twice_changes_nothing(engine: Engine) -> None:
    load_demo_sites(engine)
    before = _snapshot(engine)
    again = load_demo_sites(engine)
    assert not again.changed
    assert again.points.unchanged == 810
    assert _snapshot(engine) == before  # same ids, hashes and updated_at: no churn


def test_limits_and_encoding_are_stored_with_the_point(engine: Engine) -> None:
    load_demo_sites(engine, ("ab-baldwinsville",))
    by_tag = {r.tag: r for r in points_for(engine, "ab-baldwinsville", "block-01")}
    hz = by_tag["MET-01-Hz"]
    assert {(lim.priority, lim.direction, lim.value) for lim in hz.limits} == {
        ("P0", "low", 58.0), ("P0", "high", 62.0), ("P2", "low", 59.0), ("P2", "high", 61.0)}
    kwh = by_tag["MET-01-kWh"]
    assert (kwh.kind, kwh.data_type, kwh.word_order, kwh.scale, kwh.billing_role) == (
        "accumulator", "int64", "ABCD", 0.001, "facility_energy_kwh")
    assert by_tag["LD-01a"].limits[0].model_dump() == {"priority": "P0", "direction": "high", "value": 1.0}
    assert by_tag["HOST-demand"].address == "binary-value,1"
    assert by_tag["PLC-SAFE-mode"].enum_map == {"0": "EXPORT", "1": "MIXED", "2": "REJECT", "3": "MAINTENANCE"}


def test_point_ids_are_stable_across_reloads_and_other_sites(engine: Engine) -> None:
    load_demo_sites(engine, ("ab-baldwinsville",))
    first = {(r.block_id, r.tag): r.point_id for r in points_for(engine, "ab-baldwinsville")}
    load_demo_sites(engine)  # adding another site assigns new ids, never touches existing ones
    second = {(r.block_id, r.tag): r.point_id for r in points_for(engine, "ab-baldwinsville")}
    assert first == second
    all_ids = [r.point_id for r in points_for(engine)]
    assert len(set(all_ids)) == len(all_ids)


def test_removed_point_is_retired_then_restored_with_its_id(engine: Engine) -> None:
    site = _baldwinsville()
    sync_registry(engine, [site])
    point_id = next(r.point_id for r in points_for(engine, site.site_id) if r.tag == "VIB-02")

    report = sync_registry(engine, [_without_point(site, "VIB-02")])
    assert (report.points.retired, report.points.unchanged) == (1, 269)
    assert "VIB-02" not in {r.tag for r in points_for(engine, site.site_id)}
    retired = [r for r in points_for(engine, site.site_id, include_retired=True) if r.tag == "VIB-02"]
    assert retired[0].retired and retired[0].point_id == point_id
    assert retired[0].limits, "a retired point keeps its limits (history stays interpretable)"

    again = sync_registry(engine, [_without_point(site, "VIB-02")])
    assert not again.changed  # retiring is done once

    back = sync_registry(engine, [site])
    assert (back.points.restored, back.points.added) == (1, 0)
    restored = next(r for r in points_for(engine, site.site_id) if r.tag == "VIB-02")
    assert restored.point_id == point_id and not restored.retired


def test_changed_definition_updates_only_that_point(engine: Engine) -> None:
    site = _baldwinsville()
    sync_registry(engine, [site])
    before = {r[3]: r for r in _snapshot(engine)}
    block = site.blocks[0]
    points = tuple(p.model_copy(update={"description": "Loop 2 supply header (renamed)"}) if p.tag == "TT-L2s"
                   else p for p in block.points)
    edited = site.model_copy(update={"blocks": (block.model_copy(update={"points": points}),)})
    report = sync_registry(engine, [edited])
    assert (report.points.updated, report.points.unchanged) == (1, 269)
    after = {r[3]: r for r in _snapshot(engine)}
    assert after["TT-L2s"][0] == before["TT-L2s"][0] and after["TT-L2s"][5] > before["TT-L2s"][5]
    assert all(after[t] == before[t] for t in before if t != "TT-L2s")


def test_limit_change_replaces_the_alarm_limits(engine: Engine) -> None:
    site = _baldwinsville()
    sync_registry(engine, [site])
    block = site.blocks[0]
    points = tuple(p.model_copy(update={"limits": p.limits[:1]}) if p.tag == "TT-L2s" else p for p in block.points)
    sync_registry(engine, [site.model_copy(update={"blocks": (block.model_copy(update={"points": points}),)})])
    row = next(r for r in points_for(engine, site.site_id) if r.tag == "TT-L2s")
    assert len(row.limits) == 1


def test_removed_block_device_and_contract_are_retired(engine: Engine) -> None:
    rfg = next(s for s in demo_site_definitions() if s.site_id == "rfg-foods-jhb")
    sync_registry(engine, [rfg])
    one_block = rfg.model_copy(update={"blocks": rfg.blocks[:1], "contracts": rfg.contracts[:1]})
    report = sync_registry(engine, [one_block])
    assert report.points.retired == 270
    with engine.connect() as conn:
        retired = dict(conn.execute(text(
            "SELECT 'blocks', count(*) FROM ref.blocks WHERE retired_at IS NOT NULL UNION ALL "
            "SELECT 'devices', count(*) FROM ref.devices WHERE retired_at IS NOT NULL UNION ALL "
            "SELECT 'contracts', count(*) FROM ref.contracts WHERE retired_at IS NOT NULL")).all())
    assert retired == {"blocks": 1, "devices": 26, "contracts": 1}
    assert {r.block_id for r in points_for(engine, "rfg-foods-jhb")} == {"block-01"}


def test_demo_files_on_disk_match_the_cached_definitions() -> None:
    assert tuple(load_site_files(DEMO_SITES_DIR)) == demo_site_definitions()


def test_concurrent_syncs_serialise(engine: Engine) -> None:
    """Two loaders at once (two `mcs up`, a deploy hook) end in one consistent registry."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: load_demo_sites(engine), range(2)))
    assert sorted(r.points.added for r in reports) == [0, 810]
    assert sorted(r.points.unchanged for r in reports) == [0, 810]
    assert len(points_for(engine)) == 810
