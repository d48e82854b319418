"""ESG: scope-2 emissions of the block's electricity and CO₂ avoided by the heat it exports.

Displaced-gas accounting as the domain brief corrects it (§7.8): fuel = kWht / η_boiler (0.85),
therms = fuel / 29.3071, CO₂ avoided = therms × 5.306 kg. Grid factors (kg/kWh) are the 2025 seeds
(§6.7). reports.esg_monthly (dbt) is shown when built; it is the figure of record for reports.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from streamlit_app import queries as q
from streamlit_app import ui

GRID_KG_PER_KWH = {"US-NY": 0.24, "US-AVG": 0.39, "EU": 0.23, "ZA": 0.95, "UK": 0.21}
BOILER_EFFICIENCY = 0.85
KWH_PER_THERM = 29.3071
KG_CO2_PER_THERM = 5.306

ui.require_user()
fl = ui.fleet()
ui.header("ESG", fl, "emissions and heat-reuse credit")

if fl is not None:
    days = st.segmented_control("Window", [30, 90, 365], default=30, format_func=lambda d: f"{d} days",
                                key="esg_days") or 30
    end = datetime.now(UTC)
    with st.spinner("Loading meter counters…"):
        daily = q.energy_daily_from_counters(fl.site_id, end - timedelta(days=days), end, fl.timezone)
    if daily.empty:
        ui.no_data("No meter readings in this window.", "Backfill (`mcs backfill --days 30`) or start `mcs up`.")
        st.stop()
    factor = GRID_KG_PER_KWH.get(fl.grid_region, GRID_KG_PER_KWH["US-AVG"])
    d = daily.copy()
    d["scope2_kg"] = d["facility_kwh"] * factor
    d["therms_displaced"] = d["heat_kwht"] / BOILER_EFFICIENCY / KWH_PER_THERM
    d["co2_avoided_kg"] = d["therms_displaced"] * KG_CO2_PER_THERM
    tot = d[["facility_kwh", "heat_kwht", "scope2_kg", "therms_displaced", "co2_avoided_kg"]].sum()
    c = st.columns(4)
    c[0].metric("Scope 2 (location-based)", ui.fmt(tot["scope2_kg"] / 1000, "t CO₂", 1),
                help=f"facility kWh × {factor} kg/kWh ({fl.grid_region})")
    c[1].metric("Gas displaced", ui.fmt(tot["therms_displaced"], "therm", 0))
    c[2].metric("CO₂ avoided by heat export", ui.fmt(tot["co2_avoided_kg"] / 1000, "t CO₂", 1))
    c[3].metric("Net", ui.fmt((tot["scope2_kg"] - tot["co2_avoided_kg"]) / 1000, "t CO₂", 1))
    d["month"] = pd.to_datetime(d["local_date"]).dt.to_period("M").astype(str)
    monthly = d.groupby(["month", "block_id"])[["scope2_kg", "co2_avoided_kg"]].sum().reset_index()
    st.plotly_chart(px.bar(monthly.melt(id_vars=["month", "block_id"], var_name="quantity", value_name="kg"),
                           x="month", y="kg", color="quantity", barmode="group", facet_col="block_id", height=340,
                           title="Scope 2 vs CO₂ avoided per month"), key="esg_monthly_chart")
    mart = q.mart("reports.esg_monthly", fl.site_id)
    if not mart.empty:
        st.markdown("**reports.esg_monthly (figure of record)**")
        st.dataframe(mart, hide_index=True, key="esg_mart")
    else:
        st.caption("reports.esg_monthly not built yet (`mcs dbt build`); figures above are computed live.")
