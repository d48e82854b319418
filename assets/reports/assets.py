"""Report assets (month × site): one factory builds every report from its ReportSpec.

Each report reads its dbt relations for one site and one month (bounded), renders one PDF and one
XLSX with the shared renderer, stores them under settings.reports_path named by site, period and
content hash, records the artifact in ops.report_artifacts and returns Dagster metadata: totals,
a preview table, the artifact paths, the data window and the code version.

Finance reports depend on `finance/report_inputs`, whose checks are blocking: in a run that
includes them (the `monthly_reports` job, the CLI) a failing check stops the finance reports and says
why. A run without them (one report selected in the UI) is refused by `gate.require_finance_checks_passed`
unless the partition's latest inputs passed every blocking check in an earlier run. DCIM reports are not
gated by billing-meter quality.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from dagster import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    Config,
    MaterializeResult,
    MetadataValue,
    MultiToSingleDimensionPartitionMapping,
    asset,
)
from pydantic import Field
from sqlalchemy import Connection

from assets.dbt import TRANSLATOR, load_manifest, partition_kind
from assets.keys import FINANCE_INPUTS, report_key
from assets.reports import data, store
from assets.reports.gate import require_finance_checks_passed
from assets.reports.render import ReportDocument, markdown_preview, render_pdf, render_xlsx
from assets.reports.specs import REPORTS, ReportSpec
from expectations.checks import month_days, split_report_key
from mcs.settings import get_settings
from orchestration.partitions import report_partitions
from orchestration.resources import McsDatabase

FINANCE_GROUP = "finance_reports"
DCIM_GROUP = "dcim_reports"
REPORT_OWNER = "team:business-analytics"


class ReportConfig(Config):
    """Choices finance may make when launching a report (defaults keep re-runs reproducible)."""

    issue_date: str = Field(default="", description="Issue date printed on the document (YYYY-MM-DD); "
                                                    "default: the first day after the period")
    recipient: str = Field(default="", description="Addressee printed on the document, e.g. the lender's name")


@dataclass(frozen=True)
class BuiltReport:
    spec: ReportSpec
    document: ReportDocument
    content_hash: str
    pdf_path: Path
    data_path: Path
    totals: dict[str, float]
    rows: int
    artifact_id: int
    window: tuple[datetime, datetime]


def _upstream_deps(spec: ReportSpec) -> list[AssetDep]:
    """dbt models the report reads (those present in the manifest), with the partition mapping that fits."""
    manifest = load_manifest()
    by_name = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    deps = []
    for model in spec.models():
        node = by_name.get(model)
        if node is None:
            continue
        kind = partition_kind(node)
        mapping = {"monthly": MultiToSingleDimensionPartitionMapping(partition_dimension_name="month"),
                   "daily": AllPartitionMapping()}.get(kind)
        deps.append(AssetDep(TRANSLATOR.get_asset_key(node), partition_mapping=mapping))
    if spec.finance:
        deps.append(AssetDep(FINANCE_INPUTS))
    return deps


def build_report(conn: Connection, spec: ReportSpec, site_id: str, month_start: date, reports_root: Path,
                 run_id: str, config: ReportConfig | None = None) -> BuiltReport:
    """Read, render, store and record one report; pure of Dagster so the CLI and tests can call it too."""
    config = config or ReportConfig()
    site = data.site_info(conn, site_id)
    period = data.quarter_period(month_start) if spec.grain == "quarterly" else data.month_period(month_start)
    window = data.utc_window(period, site.timezone)
    sections = [data.load_section(conn, section, site_id, period) for section in spec.sections]
    totals = data.section_totals(sections[0], spec.totals)
    if spec.lines:
        sections.insert(0, data.line_section(sections[0], spec.lines))
    issue_date = config.issue_date or (period.last_day + timedelta(days=1)).isoformat()
    extra = {"issue_date": issue_date, "recipient": config.recipient, "totals": totals}
    digest = data.content_hash(spec, site, period, window, sections, extra)
    summary = [("Issue date", issue_date), ("Currency", site.currency)]
    if config.recipient:
        summary.append(("Recipient", config.recipient))
    summary += [(f"Total {name}", f"{value:,.4f}") for name, value in totals.items()]
    summary += [(f"Rows: {s.title}", str(len(s.rows))) for s in sections]
    document = ReportDocument(
        report=spec.name, title=spec.title, site_id=site.site_id, site_name=site.name, period=period.label,
        window_start=window[0], window_end=window[1], timezone=site.timezone, summary=tuple(summary),
        sections=tuple(sections), notes=(*spec.notes, f"Source: {', '.join(s.relation for s in spec.sections)} "
                                         "(dbt). Times are UTC; days and months are site-local."))
    pdf_path, data_path = store.artifact_paths(reports_root, spec.name, site_id, period.label, digest)
    store.write_atomic(pdf_path, render_pdf(document, digest))
    store.write_atomic(data_path, render_xlsx(document, digest))
    rows = sum(len(s.rows) for s in sections)
    artifact_id = store.record_artifact(conn, report=spec.name, site_id=site_id, period=period.label,
                                        pdf_path=pdf_path, data_path=data_path, content_hash=digest, window=window,
                                        run_id=run_id, totals=totals, row_count=rows)
    return BuiltReport(spec, document, digest, pdf_path, data_path, totals, rows, artifact_id, window)


def report_metadata(built: BuiltReport) -> dict[str, object]:
    metadata: dict[str, object] = {
        "report": built.spec.name,
        "period": built.document.period,
        "site_id": built.document.site_id,
        "content_hash": built.content_hash,
        "pdf_path": MetadataValue.path(str(built.pdf_path)),
        "data_path": MetadataValue.path(str(built.data_path)),
        "data_window": f"{built.window[0].isoformat()}/{built.window[1].isoformat()}",
        "code_version": store.code_version(),
        "rows": built.rows,
        "artifact_id": built.artifact_id,
        "totals": MetadataValue.json(built.totals),
        "preview": MetadataValue.md(markdown_preview(built.document.sections[0], wide_as_fields=True)),
    }
    for name, value in built.totals.items():
        metadata[f"total_{name}"] = value
    return metadata


def build_report_asset(spec: ReportSpec) -> AssetsDefinition:
    @asset(
        key=report_key(spec.name),
        partitions_def=report_partitions,
        deps=_upstream_deps(spec),
        group_name=FINANCE_GROUP if spec.finance else DCIM_GROUP,
        owners=[REPORT_OWNER],
        kinds={"pdf", "xlsx"},
        tags={"mcs/report": spec.name},
        description=spec.description + (" Built for quarter-end months only." if spec.grain == "quarterly" else ""),
        output_required=spec.grain != "quarterly",
        code_version=data.RENDER_VERSION,
    )
    def _report(context: AssetExecutionContext, config: ReportConfig,
                database: McsDatabase) -> Iterator[MaterializeResult]:
        month, site_id = split_report_key(context.partition_key)
        month_start = month_days(month)[0]
        if spec.grain == "quarterly" and not data.is_quarter_end(month_start):
            context.log.info("%s: %s is not a quarter-end month; nothing to build", spec.name, month[:7])
            return
        if spec.finance:
            require_finance_checks_passed(context.instance, context.partition_key, spec.name)
        with database.engine() as engine, engine.begin() as conn:
            built = build_report(conn, spec, site_id, month_start, get_settings().reports_path,
                                 context.run.run_id, config)
        context.log.info("%s %s %s → %s", spec.name, site_id, built.document.period, built.pdf_path)
        yield MaterializeResult(metadata=report_metadata(built))

    return _report


def build_report_assets() -> list[AssetsDefinition]:
    return [build_report_asset(spec) for spec in REPORTS]


def _finance_inputs_deps() -> list[AssetDep]:
    manifest = load_manifest()
    wanted = {m for spec in REPORTS if spec.finance for m in spec.models()}
    wanted |= {"fct_energy_daily", "fct_heat_daily", "fct_efficiency_daily", "fct_sla_monthly"}
    deps = []
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] in wanted:
            kind = partition_kind(node)
            mapping = {"monthly": MultiToSingleDimensionPartitionMapping(partition_dimension_name="month"),
                       "daily": AllPartitionMapping()}.get(kind)
            deps.append(AssetDep(TRANSLATOR.get_asset_key(node), partition_mapping=mapping))
    return sorted(deps, key=lambda d: d.asset_key.to_user_string())


@asset(key=FINANCE_INPUTS, partitions_def=report_partitions, deps=_finance_inputs_deps(), group_name=FINANCE_GROUP,
       owners=[REPORT_OWNER], kinds={"postgres"},
       description="The month × site window the finance reports read; its blocking checks gate them.")
def finance_report_inputs(context: AssetExecutionContext, database: McsDatabase) -> MaterializeResult:
    month, site_id = split_report_key(context.partition_key)
    first, last = month_days(month)
    counts: dict[str, int | str] = {}
    with database.engine() as engine, engine.connect() as conn:
        site = data.site_info(conn, site_id)
        window = data.utc_window(data.month_period(first), site.timezone)
        period = data.month_period(first)
        for spec in REPORTS:
            if not spec.finance:
                continue
            for section in spec.sections:
                if data.relation_exists(conn, section.relation):
                    counts[section.relation] = len(data.load_section(conn, section, site_id, period).rows)
                else:
                    counts[section.relation] = "not built"
    return MaterializeResult(metadata={
        "site_id": site_id, "period": period.label, "first_day": first.isoformat(), "last_day": last.isoformat(),
        "data_window": f"{window[0].isoformat()}/{window[1].isoformat()}",
        "rows_by_relation": MetadataValue.json(counts),
    })
