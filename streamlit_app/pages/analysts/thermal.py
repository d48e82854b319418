"""Thermal: heat delivered, loop temperatures, PHX approach, heat-meter cross-check, time in mode.

Cross-check (domain §7.3): the certified meter's thermal power MET-T1-kWt against flow × ΔT of
its own matched pair (FT-BIL, TT-BIL-s/r) with water properties at the mean temperature
(mcs.physics); commissioning accepts ±3 %.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from mcs.physics import thermal_power_kw
from streamlit_app import queries as q
from streamlit_app import ui
from streamlit_app.components.charts import lines, range_picker, wide
from streamlit_app.components.live import MODE_CODES

LOOP_TAGS = ["TT-L2s", "TT-L2r", "TT-HXsOut", "TT-HXsIn", "TT-L3s", "TT-L3r"]
HX_TAGS = ["TT-HX-approach", "TT-HXpIn", "TT-HXsOut", "PT-HX-dP"]
METER_TAGS = ["MET-T1-kWt", "MET-T1-kWht", "FT-BIL", "TT-BIL-s", "TT-BIL-r"]

ui.require_user()
fl = ui.fleet()
ui.header("Thermal", fl, "heat delivered, loops, HX, meter cross-check")

if fl is not None:
    start, end = range_picker("thermal_range", default="24 h")
    _, tier = q.tier_for(start, end)
    with st.spinner("Loading heat-meter series…"):
        meter = q.series_by_tag(fl.site_id, fl.block_id, METER_TAGS, start, end)
    if meter.empty:
        ui.no_data("No heat-meter readings in this range.", "Backfill (`mcs backfill --days 7`) or start `mcs up`.")
        st.stop()
    w = wide(meter)
    heat = w.get("MET-T1-kWt")
    c = st.columns(4)
    if heat is not None and not heat.dropna().empty:
        c[0].metric("Mean heat delivered", ui.fmt(heat.mean(), "kWt", 0))
    counter = meter[meter["tag"] == "MET-T1-kWht"]
    if not counter.empty:
        # The certified register's increase over the range (a reset would show as a drop; see Energy).
        c[1].metric("Heat delivered (meter register)", ui.fmt(counter["max"].max() - counter["min"].min(), "kWht", 0))
    if {"FT-BIL", "TT-BIL-s", "TT-BIL-r", "MET-T1-kWt"} <= set(w.columns):
        w["calc_kWt"] = thermal_power_kw(w["FT-BIL"], w["TT-BIL-s"], w["TT-BIL-r"])
        both = w[["MET-T1-kWt", "calc_kWt"]].dropna()
        diff = 100 * (both["MET-T1-kWt"].sum() - both["calc_kWt"].sum()) / both["calc_kWt"].sum() \
            if not both.empty and both["calc_kWt"].sum() else None
        c[2].metric("Meter vs flow × ΔT", ui.fmt(diff, "%", 2), help="commissioning accepts ±3 %")
        xc = w[["MET-T1-kWt", "calc_kWt"]].reset_index().melt(id_vars="ts", var_name="tag", value_name="avg")
        st.plotly_chart(lines(xc, f"Heat meter cross-check (tier {tier})", unit="kWt"), key="thermal_crosscheck")
    intervals = q.mode_intervals(fl.site_id, fl.block_id, start, end)
    if intervals.empty:
        # No transition recorded for this block (e.g. a short history in one mode): the PLC mode register's
        # buckets give the time in mode instead.
        reg = q.series_by_tag(fl.site_id, fl.block_id, ["MODE-current"], start, end)
        if not reg.empty:
            states = reg["avg"].round().map(MODE_CODES).fillna("UNKNOWN")
            c[3].metric("Time exporting", ui.fmt(100 * (states == "EXPORT").mean(), "%", 0),
                        help="share of MODE-current buckets (no mode transitions recorded in this range)")
    else:
        intervals["hours"] = (intervals["end"] - intervals["start"]).dt.total_seconds() / 3600
        share = intervals.groupby("state")["hours"].sum()
        c[3].metric("Time exporting", ui.fmt(100 * share.get("EXPORT", 0) / max(share.sum(), 1e-9), "%", 0))
        st.plotly_chart(px.timeline(intervals, x_start="start", x_end="end", y="state", color="state",
                                    color_discrete_map=ui.MODE_COLOURS, height=200, title="Thermal mode"),
                        key="thermal_modes")
    loops = q.series_by_tag(fl.site_id, fl.block_id, LOOP_TAGS, start, end)
    if not loops.empty:
        st.plotly_chart(lines(loops, "Loop temperatures", unit="°C"), key="thermal_loops")
    hx = wide(q.series_by_tag(fl.site_id, fl.block_id, HX_TAGS, start, end))
    if not hx.empty:
        if "TT-HX-approach" not in hx and {"TT-HXpIn", "TT-HXsOut"} <= set(hx.columns):
            hx["TT-HX-approach"] = hx["TT-HXpIn"] - hx["TT-HXsOut"]
        if "TT-HX-approach" in hx:
            ap = hx[["TT-HX-approach"]].reset_index().rename(columns={"TT-HX-approach": "avg"}).assign(tag="approach")
            fig = lines(ap, "PHX approach (design 5 K; P2 8 K, P1 10 K, P0 15 K)", unit="K")
            fig.add_hline(y=8, line_dash="dot", line_color="#f9a825")
            fig.add_hline(y=10, line_dash="dot", line_color="#e65100")
            st.plotly_chart(fig, key="thermal_approach")
    st.caption(f"Tier {tier}; ranges are UTC.")
