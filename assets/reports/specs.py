"""What each report contains: its source relations (dbt models), totals and whether finance checks guard it.

A report is data, not code: adding one is adding a `ReportSpec` here. Every report is rendered by
the same renderer (render.py) and built by the same asset factory (assets.py).

Relations are filtered to the site and the period by `data.py`, which finds the period column by
name (first match of PERIOD_COLUMNS) and its type, so month-grain (`month`, `period_start`),
day-grain (`local_date`) and quarter-grain tables all work without per-report SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SectionSpec:
    title: str
    relation: str                            # schema.table (a dbt model)
    required: bool = True                    # missing relation → the report fails, saying which
    columns: tuple[str, ...] = ()            # () = every column except site_id, in table order


@dataclass(frozen=True)
class ReportSpec:
    name: str                                # asset name and artifact file prefix
    title: str
    sections: tuple[SectionSpec, ...]
    totals: tuple[str, ...] = ()             # numeric columns summed over the first section (if present)
    finance: bool = True                     # guarded by the blocking finance checks
    grain: str = "monthly"                   # "monthly" or "quarterly" (partition month = quarter end)
    description: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def primary(self) -> SectionSpec:
        return self.sections[0]

    def models(self) -> tuple[str, ...]:
        return tuple(s.relation.split(".", 1)[1] for s in self.sections)


REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec(
        name="invoice", title="Customer invoice — metered IT energy (kWh)",
        description="Monthly customer invoice per colocation contract (domain §7.2, §7.6).",
        sections=(SectionSpec("Invoice lines", "reports.invoice_monthly"),),
        totals=("kwh", "it_kwh", "billable_kwh", "amount", "subtotal", "tax", "total", "total_due"),
    ),
    ReportSpec(
        name="heat_credit", title="Host heat-credit statement (kWht)",
        description="Heat delivered to the host in EXPORT/MIXED and the credit it earns (domain §7.3).",
        sections=(SectionSpec("Heat credit", "reports.heat_credit_monthly"),),
        totals=("kwht", "billable_kwht", "credit", "credit_amount", "amount", "total"),
    ),
    ReportSpec(
        name="sla", title="SLA report — availability and credits",
        description="Availability vs the contract class target, downtime and credit tier (domain §7.5).",
        sections=(SectionSpec("SLA", "reports.sla_monthly"),),
        totals=("downtime_minutes", "unplanned_downtime_minutes", "credit_amount", "sla_credit"),
    ),
    ReportSpec(
        name="lender_monthly", title="Lender report — monthly",
        description="Financial, operational, SLA and ESG summary for the lender (domain §7.7).",
        sections=(SectionSpec("Lender summary", "reports.lender_monthly"),),
        totals=("revenue", "total_revenue", "kwh", "kwht", "sla_credits"),
    ),
    ReportSpec(
        name="lender_quarterly", title="Lender report — quarterly", grain="quarterly",
        description="Three-month trend and benchmarks; built for quarter-end months only (domain §7.7).",
        sections=(SectionSpec("Lender quarter", "reports.lender_quarterly"),),
        totals=("revenue", "total_revenue", "kwh", "kwht", "sla_credits"),
    ),
    ReportSpec(
        name="esg", title="ESG report — energy, heat reuse and emissions",
        description="PUE/ERE/ERF, heat exported, displaced gas and CO₂ (domain §7.4, §7.8).",
        sections=(SectionSpec("ESG", "reports.esg_monthly"),),
        totals=("kwht_exported", "co2_avoided_kg", "scope2_kg", "facility_kwh", "it_kwh"),
    ),
    ReportSpec(
        name="dcim_temperature_compliance", title="DCIM — temperature compliance", finance=False,
        description="Share of time each rack/loop temperature stayed inside its envelope, per day.",
        sections=(SectionSpec("Daily compliance", "marts.fct_temperature_compliance_daily"),),
        totals=("minutes_out_of_range", "minutes_total", "samples"),
    ),
    ReportSpec(
        name="dcim_uptime", title="DCIM — uptime and MTTR", finance=False,
        description="Availability, incident count, mean time to repair.",
        sections=(SectionSpec("Uptime", "marts.fct_uptime_monthly"),),
        totals=("downtime_minutes", "incidents"),
    ),
    ReportSpec(
        name="dcim_capacity", title="DCIM — capacity", finance=False,
        description="IT power used vs capacity per block, peak and average utilisation.",
        sections=(SectionSpec("Capacity", "marts.fct_capacity_monthly"),),
        totals=("it_kwh", "capacity_kw"),
    ),
    ReportSpec(
        name="dcim_ups_battery", title="DCIM — UPS battery health", finance=False,
        description="UPS battery charge, runtime, temperature and on-battery events.",
        sections=(SectionSpec("UPS battery health", "marts.fct_ups_battery_health"),),
        totals=("on_battery_events", "on_battery_minutes"),
    ),
)

REPORTS_BY_NAME = {spec.name: spec for spec in REPORTS}
