"""SLA: month-to-date availability per block against its class target, downtime budget, credit tier.

reports.sla_monthly (dbt) is the figure of record when built. Until then the page estimates it
the reference's way (domain §7.5) but with overlaps merged: downtime = union of P0/P1 alarm
intervals on the block, clipped to the month; budget = minutes × (1 − target).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from streamlit_app import queries as q
from streamlit_app import ui
from streamlit_app.components.sla import TARGETS, credit_pct, merged_minutes

ui.require_user()
fl = ui.fleet(require_block=False)
ui.header("SLA", fl, "month to date")

if fl is not None:
    mart = q.mart("reports.sla_monthly", fl.site_id)
    if mart.empty:
        mart = q.mart("marts.fct_sla_monthly", fl.site_id)
    now = datetime.now(UTC)
    month_start = pd.Timestamp(now).tz_convert(fl.timezone).normalize().replace(day=1).tz_convert("UTC")
    elapsed_min = (pd.Timestamp(now) - month_start).total_seconds() / 60
    blocks = q.blocks()
    blocks = blocks[blocks["site_id"] == fl.site_id]
    rows = []
    has_alarms = q.relation_exists("ops.alarms")
    for b in blocks.itertuples():
        target = TARGETS.get(b.availability_class, 99.9)
        down = 0.0
        if has_alarms:
            al = q.alarms_in_window(fl.site_id, b.block_id, month_start.to_pydatetime(), now)
            al = al[al["priority"].isin(["P0", "P1"])]
            ivs = [(max(pd.Timestamp(r.raised_at), month_start),
                    pd.Timestamp(r.cleared_at) if pd.notna(r.cleared_at) else pd.Timestamp(now))
                   for r in al.itertuples()]
            down = merged_minutes(ivs)
        avail = 100.0 * (elapsed_min - down) / elapsed_min if elapsed_min else 100.0
        budget = elapsed_min * (1 - target / 100)
        rows.append({"block": b.block_id, "class": b.availability_class, "target %": target,
                     "availability %": round(avail, 4), "downtime min": round(down, 1),
                     "budget used %": round(100 * down / budget, 1) if budget else 0.0,
                     "credit tier %": credit_pct(avail, target)})
    est = pd.DataFrame(rows)
    if est.empty:
        ui.no_data("This site has no blocks.", "Add blocks to the site file and run `mcs sites load`.")
        st.stop()
    cols = st.columns(len(est))
    for col, r in zip(cols, est.to_dict("records"), strict=True):
        col.metric(f"{r['block']} (class {r['class']}, {r['target %']} %)", f"{r['availability %']:.3f} %",
                   delta=f"{r['budget used %']:.0f} % of downtime budget used", delta_color="inverse")
    st.dataframe(est, hide_index=True, key="sla_estimate")
    st.caption("Estimate from P0/P1 alarm intervals (merged), month to date in site-local time. "
               "Budget warnings: > 75 % used.")
    if not mart.empty:
        st.markdown("**SLA of record (dbt)**")
        st.dataframe(mart, hide_index=True, key="sla_mart")
    else:
        st.caption("reports.sla_monthly not built yet (`mcs dbt build`).")
    c = q.contracts(fl.site_id)
    if not c.empty:
        st.markdown("**Contracts**")
        st.dataframe(c[c["kind"] == "colo_msa"].drop(columns=["terms"]), hide_index=True, key="sla_contracts")
