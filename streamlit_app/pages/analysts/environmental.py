"""Environmental: rack air-inlet heatmap (rack × time), humidity and aisle pressure.

Inlet limits come from the registry's alarm limits, so the colour scale marks what would alarm
at this site rather than a generic ASHRAE band.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from streamlit_app import queries as q
from streamlit_app import ui
from streamlit_app.components.charts import lines, range_picker

ui.require_user()
fl = ui.fleet()
ui.header("Environmental", fl, "rack inlet temperatures, humidity, aisle dP")

if fl is not None:
    pts = q.points(fl.site_id, fl.block_id)
    inlet = sorted(t for t in pts["tag"] if t.startswith("TT-R") and t.endswith("-in"))
    if not inlet:
        ui.no_data("This block has no rack inlet sensors registered.", "Add TT-Rxx-in points to its schedule.")
        st.stop()
    start, end = range_picker("env_range", default="24 h")
    with st.spinner("Loading rack inlet temperatures…"):
        df = q.series_by_tag(fl.site_id, fl.block_id, inlet, start, end)
    if df.empty:
        ui.no_data("No rack inlet readings in this range.", "Backfill (`mcs backfill --days 1`) or start `mcs up`.")
        st.stop()
    df["rack"] = df["tag"].str.slice(3, 6)
    grid = df.pivot_table(index="rack", columns="ts", values="avg").sort_index()
    limits = q.alarm_limits(fl.site_id, fl.block_id)
    ids = set(pts[pts["tag"].isin(inlet)]["point_id"])
    highs = limits[(limits["point_id"].isin(ids)) & (limits["direction"] == "high")]["value"]
    vmax = float(highs.min()) if not highs.empty else None
    fig = px.imshow(grid, aspect="auto", color_continuous_scale="RdYlBu_r", height=420, zmax=vmax,
                    labels={"color": "°C", "x": "", "y": "rack"},
                    title="Rack air-inlet temperature" + (f" (scale tops at the lowest high limit, {vmax:g} °C)"
                                                          if vmax else ""))
    st.plotly_chart(fig, key="env_heatmap")
    now = df.sort_values("ts").groupby("rack").tail(1).set_index("rack")["avg"]
    c = st.columns(3)
    c[0].metric("Hottest inlet now", ui.fmt(now.max(), "°C"), help=str(now.idxmax()))
    c[1].metric("Mean inlet now", ui.fmt(now.mean(), "°C"))
    c[2].metric("Max over range", ui.fmt(df["max"].max(), "°C"))
    other = [t for t in ("RH-01", "RH-02", "DP-01", "TT-ROOM-avg") if t in set(pts["tag"])]
    if other:
        env = q.series_by_tag(fl.site_id, fl.block_id, other, start, end)
        if not env.empty:
            st.plotly_chart(lines(env, "Humidity (%RH), aisle dP (Pa), room average (°C)"), key="env_other")
