"""The code location loads and its asset graph has the agreed shape.

The platform-owned part of the graph (raw sources, finance gate, reports, checks, jobs, schedules,
sensors) is compared with a committed snapshot (asset_graph.json; regenerate with
MCS_UPDATE_SNAPSHOT=1 after an intended change). dbt models change with the dbt project, so for them
the test asserts the translator's invariants instead of a list.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from dagster import AssetKey, Definitions, MultiPartitionsDefinition, TimeWindowPartitionsDefinition

SNAPSHOT = Path(__file__).with_name("asset_graph.json")


@pytest.fixture(scope="module")
def defs() -> Definitions:
    from orchestration.definitions import defs

    Definitions.validate_loadable(defs)
    return defs


def _partitions(definition) -> str:
    if definition is None:
        return "none"
    if isinstance(definition, MultiPartitionsDefinition):
        return "multi:" + "×".join(d.name for d in definition.partitions_defs)
    if isinstance(definition, TimeWindowPartitionsDefinition):
        return f"time:{definition.cron_schedule}"
    return type(definition).__name__


def platform_graph(defs: Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if key.path[0] not in ("raw", "finance", "report"):
            continue
        assets[key.to_user_string()] = {"group": node.group_name, "partitions": _partitions(node.partitions_def),
                                        "executable": node.is_executable}
    checks = {}
    for check_key in sorted(graph.asset_check_keys, key=lambda c: (c.asset_key.to_user_string(), c.name)):
        if check_key.asset_key.path[0] in ("raw", "finance"):
            spec = graph.get_check_spec(check_key)
            checks[f"{check_key.asset_key.to_user_string()}:{check_key.name}"] = {"blocking": spec.blocking}
    return {
        "assets": assets,
        "checks": checks,
        "jobs": sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")),
        "schedules": sorted(s.name for s in defs.resolve_schedule_defs() if hasattr(s, "name")) if hasattr(
            defs, "resolve_schedule_defs") else sorted(s.name for s in defs.schedules or []),
        "sensors": sorted(s.name for s in defs.sensors or []),
    }


def test_platform_graph_matches_snapshot(defs):
    current = platform_graph(defs)
    if os.environ.get("MCS_UPDATE_SNAPSHOT") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_dbt_models_follow_the_translator(defs):
    from assets.dbt import load_manifest, partition_kind

    graph = defs.resolve_asset_graph()
    manifest = load_manifest()
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert models, "dbt project has no models"
    expected_partitions = {"daily": "time:0 0 * * *", "monthly": "time:0 0 1 * *", "static": "none"}
    for node in models:
        key = AssetKey([node["schema"], node["name"]])
        asset = graph.get(key)
        kind = partition_kind(node)
        assert asset.owners and asset.owners[0].startswith("team:"), key
        assert asset.group_name and not asset.group_name.startswith("default"), key
        assert _partitions(asset.partitions_def) == expected_partitions[kind], (key, kind)
        for parent in asset.parent_keys:
            parent_node = graph.get(parent)
            if parent.path[0] in ("marts", "reports", "intermediate", "staging") and kind == "static":
                assert parent_node.partitions_def is None, f"static {key} depends on partitioned {parent}"
    # The contract's fixed names resolve to assets.
    for name in ("marts/fct_rollup_1d", "marts/fct_energy_daily", "reports/invoice_monthly"):
        assert AssetKey(name.split("/")) in graph.get_all_asset_keys()


def test_finance_reports_are_gated_and_dcim_reports_are_not(defs):
    graph = defs.resolve_asset_graph()
    gate = AssetKey(["finance", "report_inputs"])
    for name in ("invoice", "heat_credit", "sla", "lender_monthly", "lender_quarterly", "esg"):
        assert gate in graph.get(AssetKey(["report", name])).parent_keys, name
    for name in ("dcim_uptime", "dcim_capacity", "dcim_temperature_compliance", "dcim_ups_battery"):
        assert gate not in graph.get(AssetKey(["report", name])).parent_keys, name
    blocking = {c.name for c in graph.asset_check_keys if c.asset_key == gate and graph.get_check_spec(c).blocking}
    assert blocking == {"billing_meter_completeness", "billing_readings_valid", "energy_marts_non_negative",
                        "pue_plausible", "sla_within_bounds"}
