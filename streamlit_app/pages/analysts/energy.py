"""Energy: daily kWh (facility, IT) and kWht exported, PUE / ERE / ERF, compared across blocks and sites.

Energies are deltas of the meters' cumulative registers per site-local day — the billing quantities,
not integrated averages: from dbt's marts.fct_efficiency_daily when it is built (heat there is the
reused kWht, EXPORT/MIXED only), otherwise computed from raw counters (queries.energy_daily_from_counters,
heat = every kWht the meter counted), and the page says which.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from streamlit_app import queries as q
from streamlit_app import ui

ui.require_user()
fl = ui.fleet()
ui.header("Energy", fl, "kWh from meter counters, site-local days")

if fl is not None:
    days = st.segmented_control("Window", [7, 30, 90], default=30, format_func=lambda d: f"{d} days",
                                key="energy_days") or 30
    end = datetime.now(UTC)
    start = end - timedelta(days=days)
    local_today = pd.Timestamp(end).tz_convert(fl.timezone).date()
    with st.spinner("Loading daily energy…"):
        mart = q.efficiency_daily_mart(fl.site_id, local_today - timedelta(days=days), local_today)
    if not mart.empty:
        daily = mart
        st.caption(f"Source: dbt mart marts.fct_efficiency_daily (heat = reused kWht in EXPORT/MIXED), "
                   f"through {mart['local_date'].max()}.")
    else:
        daily = q.efficiency(q.energy_daily_from_counters(fl.site_id, start, end, fl.timezone))
        st.caption("Source: meter counters in raw.telemetry (dbt marts not built yet: `mcs dbt build`).")
    if daily.empty:
        ui.no_data("No meter counter readings in this window.", "Backfill history (`mcs backfill --days 30`) "
                   "or start the platform (`mcs up`).")
        st.stop()
    block = daily[daily["block_id"] == fl.block_id].sort_values("local_date")
    tot = block[["facility_kwh", "it_kwh", "heat_kwht"]].sum()
    c = st.columns(5)
    c[0].metric("Facility energy", ui.fmt(tot["facility_kwh"], "kWh", 0))
    c[1].metric("IT energy", ui.fmt(tot["it_kwh"], "kWh", 0))
    c[2].metric("Heat exported", ui.fmt(tot["heat_kwht"], "kWht", 0))
    pue = tot["facility_kwh"] / tot["it_kwh"] if tot["it_kwh"] else None
    c[3].metric("PUE (window)", ui.fmt(pue, "", 3), help="facility kWh / IT kWh (MET-01 / Σ PDU)")
    erf = tot["heat_kwht"] / tot["facility_kwh"] if tot["facility_kwh"] else None
    c[4].metric("ERF (window)", ui.fmt(erf, "", 3), help="energy reused / facility energy")
    long = block.melt(id_vars="local_date", value_vars=["facility_kwh", "it_kwh", "heat_kwht"],
                      var_name="quantity", value_name="energy")
    st.plotly_chart(px.bar(long, x="local_date", y="energy", color="quantity", barmode="group", height=340,
                           title=f"Daily energy — {fl.block_id}"), key="energy_daily")
    eff = block.melt(id_vars="local_date", value_vars=["pue", "ere", "erf"], var_name="metric", value_name="value")
    st.plotly_chart(px.line(eff, x="local_date", y="value", color="metric", markers=True, height=320,
                            title="PUE / ERE / ERF (The Green Grid definitions)"), key="energy_efficiency")

    st.subheader("Compare blocks and sites")
    frames = []
    for s in q.sites().itertuples():
        if s.site_id == fl.site_id:
            d = daily
        else:
            d = q.efficiency_daily_mart(s.site_id, local_today - timedelta(days=days), local_today)
            if d.empty:
                d = q.energy_daily_from_counters(s.site_id, start, end, s.timezone)
        if not d.empty:
            frames.append(d.assign(site_id=s.site_id))
    allb = pd.concat(frames) if frames else pd.DataFrame()
    if not allb.empty:
        agg = allb.groupby(["site_id", "block_id"])[["facility_kwh", "it_kwh", "heat_kwht"]].sum().reset_index()
        agg = q.efficiency(agg)
        agg["block"] = agg["site_id"] + " / " + agg["block_id"]
        st.dataframe(agg[["block", "facility_kwh", "it_kwh", "heat_kwht", "pue", "ere", "erf"]], hide_index=True,
                     key="energy_compare", column_config={c: st.column_config.NumberColumn(format="%.3f")
                                                          for c in ("pue", "ere", "erf")})
        st.plotly_chart(px.bar(agg, x="block", y=["it_kwh", "heat_kwht"], barmode="group", height=300,
                               title=f"IT energy vs heat exported, last {days} days"), key="energy_compare_chart")
    if not mart.empty:
        with st.expander("dbt mart marts.fct_efficiency_daily"):
            st.dataframe(mart, hide_index=True)
