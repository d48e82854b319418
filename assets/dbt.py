"""dbt models as Dagster assets (dagster-dbt), split by how they are rebuilt.

* daily   — incremental models: one site-local day per partition, the window passed as the dbt vars
            min_date/max_date (inclusive); a range backfill runs as one dbt invocation.
* monthly — month-grain marts and the finance-facing `reports` schema: one calendar month per
            partition, same vars (first/last day of the month).
* static  — models with no partitioned ancestor (staging/intermediate views, dimensions, seeds,
            alarm marts): unpartitioned, rebuilt with the daily job before the days.
Models built on daily/monthly models without a kind of their own (yearly marts, intermediate
month aggregates) are month-scoped.

One translator (`McsDbtTranslator`) owns asset keys (`[schema, model]`, sources `[source, table]`),
groups (the mart's business area) and owners, so the rest of the code location and the report
assets refer to dbt models by the fixed names of CONTRACTS.md (e.g. `marts/fct_energy_daily`).

The manifest is built at load time with `dbt parse` when dbt/target/manifest.json is missing or
older than the project files (dbt/target is never committed); parse does not connect to the database.
A model may override the classification with `meta: {dagster: {partition: daily|monthly|static}}`.
"""

import fcntl
import json
import logging
import subprocess
from collections.abc import Iterator, Mapping
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, AssetSpec, BackfillPolicy
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from orchestration.partitions import daily_partitions, monthly_partitions
from orchestration.resources import DBT_PROJECT_DIR, McsDbtCliResource, dbt_executable, libpq_environ

log = logging.getLogger(__name__)

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests", "snapshots")

# Owners as Dagster expects them ("team:…"): the dbt-business helper's folders vs the core platform.
BUSINESS_FOLDERS = {"alarms", "sla", "finance", "lender", "esg"}
OWNER_BUSINESS = "team:business-analytics"
OWNER_PLATFORM = "team:data-platform"
MONTHLY_SUFFIXES = ("_monthly", "_quarterly")
PARTITION_KINDS = ("daily", "monthly", "static")


class DbtManifestError(RuntimeError):
    """The dbt project could not be parsed into a manifest."""


def _newest_input_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in PROJECT_INPUTS:
        path = project_dir / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for child in path.rglob("*"):
                if child.is_file():
                    newest = max(newest, child.stat().st_mtime)
    return newest


def ensure_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Run `dbt parse` if the manifest is missing or stale; return its path."""
    manifest = project_dir / "target" / "manifest.json"
    if manifest.exists() and manifest.stat().st_mtime >= _newest_input_mtime(project_dir):
        return manifest
    from mcs.runtime import database_url

    # The webserver and the daemon load the code location at the same time: one parses, the other
    # waits for the lock and then finds a fresh manifest.
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".mcs-parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.exists() and manifest.stat().st_mtime >= _newest_input_mtime(project_dir):
            return manifest
        # parse renders profiles.yml (PG* variables) but does not connect.
        with libpq_environ(database_url()):
            proc = subprocess.run([dbt_executable(), "parse", "--quiet", "--project-dir", str(project_dir),
                                   "--profiles-dir", str(project_dir)], capture_output=True, text=True,
                                  cwd=project_dir, check=False)
    if proc.returncode != 0 or not manifest.exists():
        detail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise DbtManifestError("dbt parse failed for " + str(project_dir) + ":\n" + "\n".join(detail))
    return manifest


@lru_cache(maxsize=1)
def load_manifest() -> Mapping[str, Any]:
    return json.loads(ensure_manifest().read_text())


def _node_folder(props: Mapping[str, Any]) -> list[str]:
    """fqn without the project name and the model name: e.g. ['marts', 'energy']."""
    fqn = list(props.get("fqn") or [])
    return fqn[1:-1] if len(fqn) > 2 else fqn[1:2]


def _own_kind(props: Mapping[str, Any]) -> str | None:
    """The kind a node declares or its name/materialisation implies; None = decided by its parents."""
    meta = (props.get("config") or {}).get("meta") or props.get("meta") or {}
    wanted = (meta.get("dagster") or {}).get("partition")
    if wanted in PARTITION_KINDS:
        return str(wanted)
    if (props.get("config") or {}).get("materialized") == "incremental":
        return "daily"
    name = str(props.get("alias") or props.get("name"))
    folders = _node_folder(props)
    if name.endswith(MONTHLY_SUFFIXES) or (folders and folders[0] == "reports"):
        return "monthly"
    return None


@lru_cache(maxsize=4)
def _kinds(manifest_id: int) -> dict[str, str]:
    """Kind of every model/seed/snapshot of the loaded manifest.

    A node without a kind of its own follows the graph so that the three builds always run in the
    order static → daily → monthly and never interleave: with no partitioned ancestor it is static;
    built on a partitioned model it is daily when a daily model depends on it (e.g. a view between
    two roll-ups) and month-scoped otherwise (yearly marts, month aggregates).
    """
    manifest = load_manifest()
    nodes = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] in ("model", "seed", "snapshot")}
    parents = {uid: [p for p in n.get("depends_on", {}).get("nodes", []) if p in nodes] for uid, n in nodes.items()}
    children: dict[str, list[str]] = {uid: [] for uid in nodes}
    for uid, ps in parents.items():
        for p in ps:
            children[p].append(uid)
    own = {uid: _own_kind(n) for uid, n in nodes.items()}

    def reach(start: str, edges: dict[str, list[str]]) -> set[str]:
        seen: set[str] = set()
        stack = list(edges[start])
        while stack:
            uid = stack.pop()
            if uid not in seen:
                seen.add(uid)
                stack.extend(edges[uid])
        return seen

    kinds: dict[str, str] = {}
    for uid in nodes:
        if own[uid] is not None:
            kinds[uid] = own[uid]  # type: ignore[assignment]
        elif not any(own[a] in ("daily", "monthly") for a in reach(uid, parents)):
            kinds[uid] = "static"
        elif any(own[d] == "daily" for d in reach(uid, children)):
            kinds[uid] = "daily"
        else:
            kinds[uid] = "monthly"
    return kinds


def partition_kind(props: Mapping[str, Any]) -> str:
    """How a node is rebuilt: 'daily', 'monthly' or 'static' (see the module docstring and _kinds)."""
    kinds = _kinds(id(load_manifest()))
    uid = props.get("unique_id")
    if uid in kinds:
        return kinds[uid]
    return _own_kind(props) or "static"


class McsDbtTranslator(DagsterDbtTranslator):
    """Keys `[schema, name]`, groups by business area, owners by the team that maintains the folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        props = dbt_resource_props
        if props["resource_type"] == "source":
            return AssetKey([props["source_name"], props["name"]])
        return AssetKey([str(props["schema"]), str(props.get("alias") or props["name"])])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        props = dbt_resource_props
        if props["resource_type"] == "source":
            return {"raw": "raw", "ref": "registry", "ops": "operations"}.get(props["source_name"], "sources")
        if props["resource_type"] == "seed":
            return "dbt_seeds"
        folders = _node_folder(props)
        if not folders:
            return "dbt_misc"
        if folders[0] == "marts" and len(folders) > 1:
            return f"marts_{folders[1]}"
        if folders[0] == "reports":
            return "finance_marts"
        return f"dbt_{folders[0]}"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        folders = _node_folder(dbt_resource_props)
        business = folders[:1] == ["reports"] or (len(folders) > 1 and folders[1] in BUSINESS_FOLDERS)
        return [OWNER_BUSINESS if business else OWNER_PLATFORM]

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            tags["mcs/partition"] = partition_kind(dbt_resource_props)
        return tags


TRANSLATOR = McsDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def model_names(kind: str, manifest: Mapping[str, Any] | None = None) -> list[str]:
    manifest = manifest or load_manifest()
    return sorted(node["name"] for node in manifest["nodes"].values()
                  if node["resource_type"] in ("model", "seed", "snapshot") and partition_kind(node) == kind)


def dbt_key(schema: str, name: str) -> AssetKey:
    return AssetKey([schema, name])


def model_key(name: str, manifest: Mapping[str, Any] | None = None) -> AssetKey | None:
    """The asset key of a dbt model by name, or None when the model does not exist (yet)."""
    manifest = manifest or load_manifest()
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == name:
            return TRANSLATOR.get_asset_key(node)
    return None


def _window_vars(context: AssetExecutionContext) -> dict[str, str]:
    window = context.partition_time_window
    return {"min_date": window.start.date().isoformat(),
            "max_date": (window.end - timedelta(days=1)).date().isoformat()}


def _stream(context: AssetExecutionContext, dbt: McsDbtCliResource, args: list[str]) -> Iterator[Any]:
    context.log.info("dbt %s", " ".join(args))
    yield from dbt.cli(args, context=context).stream()


def build_dbt_assets() -> list[AssetsDefinition]:
    """The three @dbt_assets definitions (a kind without models is left out)."""
    manifest = load_manifest()
    defs: list[AssetsDefinition] = []
    static = model_names("static", manifest)
    daily = model_names("daily", manifest)
    monthly = model_names("monthly", manifest)

    if static:
        @dbt_assets(manifest=manifest, select=" ".join(static), dagster_dbt_translator=TRANSLATOR, name="dbt_static")
        def dbt_static(context: AssetExecutionContext, dbt: McsDbtCliResource) -> Iterator[Any]:
            yield from _stream(context, dbt, ["build"])

        defs.append(dbt_static)

    if daily:
        @dbt_assets(manifest=manifest, select=" ".join(daily), dagster_dbt_translator=TRANSLATOR, name="dbt_daily",
                    partitions_def=daily_partitions, backfill_policy=BackfillPolicy.single_run())
        def dbt_daily(context: AssetExecutionContext, dbt: McsDbtCliResource) -> Iterator[Any]:
            yield from _stream(context, dbt, ["build", "--vars", json.dumps(_window_vars(context))])

        defs.append(dbt_daily)

    if monthly:
        @dbt_assets(manifest=manifest, select=" ".join(monthly), dagster_dbt_translator=TRANSLATOR,
                    name="dbt_monthly", partitions_def=monthly_partitions,
                    backfill_policy=BackfillPolicy.single_run())
        def dbt_monthly(context: AssetExecutionContext, dbt: McsDbtCliResource) -> Iterator[Any]:
            yield from _stream(context, dbt, ["build", "--vars", json.dumps(_window_vars(context))])

        defs.append(dbt_monthly)
    return defs


def source_specs() -> list[AssetSpec]:
    """dbt sources as external assets (the tables other components write), keyed like the translator."""
    manifest = load_manifest()
    specs = []
    for props in sorted(manifest["sources"].values(), key=lambda p: (p["source_name"], p["name"])):
        owner = {"raw": "team:ingest", "ops": "team:operations", "ref": "team:registry"}.get(props["source_name"])
        specs.append(AssetSpec(
            key=TRANSLATOR.get_asset_key(props),
            group_name=TRANSLATOR.get_group_name(props),
            description=props.get("description") or f"{props['source_name']}.{props['name']} (written outside dbt)",
            owners=[owner] if owner else None,
            kinds={"postgres"},
            metadata={"dagster/relation_identifier": f"{props['schema']}.{props.get('identifier') or props['name']}"},
        ))
    return specs
