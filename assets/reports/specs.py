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
class LineSpec:
    """One priced line of a statement, read from columns of the primary relation's row."""

    label: str
    quantity: str | None
    unit: str
    rate: str | None
    amount: str
    negate: bool = False                     # show as a credit (negative) when the column holds a positive amount


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
    lines: tuple[LineSpec, ...] = ()         # statement lines (invoice-like reports), one block per row

    @property
    def primary(self) -> SectionSpec:
        return self.sections[0]

    def models(self) -> tuple[str, ...]:
        return tuple(s.relation.split(".", 1)[1] for s in self.sections)


REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec(
        name="invoice", title="Customer invoice — metered IT energy (kWh)",
        description="Monthly customer invoice per colocation contract (domain §7.2, §7.6).",
        sections=(SectionSpec("Invoice", "reports.invoice_monthly"),),
        totals=("metered_kwh", "colo_fee_amount", "power_amount", "demand_amount", "cooling_amount",
                "cross_connect_amount", "sla_credit_amount", "subtotal_amount", "tax_amount", "total_amount"),
        lines=(
            LineSpec("Colocation (committed kW, pro-rata)", "committed_kw", "kW", "colo_rate", "colo_fee_amount"),
            LineSpec("Metered IT power", "metered_kwh", "kWh", "power_rate", "power_amount"),
            LineSpec("Peak demand charge", "peak_demand_kw", "kW", "demand_rate", "demand_amount"),
            LineSpec("Cooling overhead", "cooling_kwh", "kWh", "cooling_rate", "cooling_amount"),
            LineSpec("Cross-connects", "cross_connects", "ea", "cross_connect_fee", "cross_connect_amount"),
            LineSpec("SLA credit", "sla_credit_pct", "pct", None, "sla_credit_amount", negate=True),
            LineSpec("Subtotal", None, "", None, "subtotal_amount"),
            LineSpec("Tax", "tax_rate", "rate", None, "tax_amount"),
            LineSpec("Total due", None, "", None, "total_amount"),
        ),
    ),
    ReportSpec(
        name="heat_credit", title="Host heat-credit statement (kWht)",
        description="Heat delivered to the host in EXPORT/MIXED and the credit it earns (domain §7.3).",
        sections=(SectionSpec("Heat credit", "reports.heat_credit_monthly"),),
        totals=("billable_kwht", "kwht_metered", "kwht_held", "export_hours", "heat_credit_amount",
                "revenue_share_amount", "host_value_amount"),
        lines=(
            LineSpec("Heat credit (billable kWht × rate × displacement)", "billable_kwht", "kWht", "energy_rate",
                     "heat_credit_amount"),
            LineSpec("Revenue share", "revenue_share_pct", "pct", None, "revenue_share_amount"),
            LineSpec("Host value", None, "", None, "host_value_amount"),
        ),
    ),
    ReportSpec(
        name="sla", title="SLA report — availability and credits",
        description="Availability vs the contract class target, downtime and credit tier (domain §7.5).",
        sections=(SectionSpec("SLA", "reports.sla_monthly"),),
        totals=("downtime_minutes", "excluded_minutes", "unplanned_downtime_minutes", "incidents", "credit_amount"),
    ),
    ReportSpec(
        name="lender_monthly", title="Lender report — monthly",
        description="Financial, covenant, operational and ESG summary for the lender (domain §7.7).",
        sections=(SectionSpec("Lender summary", "reports.lender_monthly"),),
        totals=("revenue_net", "revenue_colo", "revenue_power", "sla_credits", "cfads", "facility_kwh", "it_kwh",
                "heat_exported_kwht", "co2_avoided_kg"),
    ),
    ReportSpec(
        name="lender_quarterly", title="Lender report — quarterly", grain="quarterly",
        description="Quarter totals, covenants, three-month trend and benchmarks (domain §7.7).",
        sections=(SectionSpec("Lender quarter", "reports.lender_quarterly"),),
        totals=("revenue_net", "revenue_colo", "revenue_power", "sla_credits", "cfads", "facility_kwh", "it_kwh",
                "heat_exported_kwht", "co2_avoided_kg"),
    ),
    ReportSpec(
        name="esg", title="ESG report — energy, heat reuse and emissions",
        description="PUE/ERE/ERF, heat exported, displaced gas and CO₂ (domain §7.4, §7.8).",
        sections=(SectionSpec("ESG", "reports.esg_monthly"),),
        totals=("facility_kwh", "it_kwh", "heat_exported_kwht", "scope1_kg", "scope2_location_kg", "co2_avoided_kg",
                "net_co2_kg"),
    ),
    ReportSpec(
        name="dcim_temperature_compliance", title="DCIM — temperature compliance", finance=False,
        description="Minutes each rack inlet spent inside the recommended/allowable envelope, per day.",
        sections=(SectionSpec("Daily compliance", "marts.fct_temperature_compliance_daily"),),
        totals=("measured_minutes", "minutes_recommended", "minutes_allowable", "minutes_above_allowable",
                "minutes_below_allowable", "bad_readings"),
    ),
    ReportSpec(
        name="dcim_uptime", title="DCIM — uptime and MTTR", finance=False,
        description="Availability, failures, mean time to repair and between failures per block.",
        sections=(SectionSpec("Uptime", "marts.fct_uptime_monthly"),),
        totals=("downtime_minutes", "excluded_minutes", "unplanned_downtime_minutes", "failures"),
    ),
    ReportSpec(
        name="dcim_capacity", title="DCIM — capacity", finance=False,
        description="Sold and measured IT power vs capacity per block, peaks and headroom.",
        sections=(SectionSpec("Capacity", "marts.fct_capacity_monthly"),),
        totals=("it_capacity_kw", "sold_kw", "available_kw"),
    ),
    ReportSpec(
        name="dcim_ups_battery", title="DCIM — UPS battery health", finance=False,
        description="UPS time on battery, discharges, state of charge, runtime and temperature per day.",
        sections=(SectionSpec("UPS battery health", "marts.fct_ups_battery_health"),),
        totals=("measured_minutes", "minutes_on_battery", "discharge_events"),
    ),
)

REPORTS_BY_NAME = {spec.name: spec for spec in REPORTS}
