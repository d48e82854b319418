"""Trends explorer: any points of the selected block over any range, at the tier the span calls for.

The tiering rule (domain §6.3: raw < 2 h, 1 min < 12 h, 5 min < 3 d, 1 h < 90 d, else 1 day) keeps a
chart at a few thousand points per series whatever the range; mcs.tiering reads the roll-up marts
when they are built, queries.series falls back to bucketing raw.telemetry with the same rule.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import streamlit as st

from streamlit_app import queries as q
from streamlit_app import ui
from streamlit_app.components.charts import RANGES, line_figure

MAX_POINTS = 20
DEFAULT_TAGS = ["TT-L2s", "TT-L2r", "TT-HXsOut", "MET-T1-kWt"]

ui.require_user()
fl = ui.fleet()
ui.header("Trends explorer", fl, "any points, any range (tiered)")

if fl is not None:
    pts = q.points(fl.site_id, fl.block_id)
    if pts.empty:
        ui.no_data("This block has no registered points.", "Run `mcs sites load`.")
        st.stop()
    c = st.columns([1, 3])
    subsystems = sorted(pts["subsystem"].unique())
    chosen_sub = c[0].multiselect("Subsystems", subsystems, key="trend_subsystems")
    options = pts[pts["subsystem"].isin(chosen_sub)] if chosen_sub else pts
    labels = {r.tag: f"{r.tag} — {r.description} [{r.unit}]" for r in pts.itertuples()}
    default = [t for t in DEFAULT_TAGS if t in labels]
    tags = c[1].multiselect(f"Points (up to {MAX_POINTS})", list(options["tag"]), default=default,
                            format_func=lambda t: labels.get(t, t), max_selections=MAX_POINTS, key="trend_tags")
    r = st.columns([3, 2, 1])
    preset = r[0].segmented_control("Range", [*RANGES, "Custom"], default="24 h", key="trend_range") or "24 h"
    end = datetime.now(UTC).replace(microsecond=0)
    if preset == "Custom":
        picked = r[1].date_input("Dates", value=((end - timedelta(days=7)).date(), end.date()), key="trend_dates")
        if isinstance(picked, tuple) and len(picked) == 2:
            start = datetime.combine(picked[0], time(0), tzinfo=UTC)
            end = min(datetime.combine(picked[1], time(0), tzinfo=UTC) + timedelta(days=1), end)
        else:
            st.stop()
        if end - start > timedelta(days=366):
            st.warning("Ranges are capped at 366 days.")
            start = end - timedelta(days=366)
    else:
        start = end - RANGES[preset]
    band = r[2].toggle("min/max", value=False, key="trend_band")
    _, tier = q.tier_for(start, end)
    if not tags:
        ui.no_data("No points selected.", "Pick one or more points above.")
        st.stop()
    with st.spinner("Loading series…"):
        df = q.series_by_tag(fl.site_id, fl.block_id, tags, start, end)
    if df.empty:
        ui.no_data("No readings in this range.", "Pick a longer range, or backfill history: `mcs backfill --days 30`.")
        st.stop()
    units = dict(zip(pts["tag"], pts["unit"], strict=True))
    df["unit"] = df["tag"].map(units)
    fig = line_figure(df, f"{len(tags)} point(s), {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC, tier {tier}",
                      facet="unit", band=band)
    st.plotly_chart(fig, key="trend_chart")
    st.caption(f"Tier **{tier}** · {len(df):,} rows · ranges are UTC")
    with st.expander("Data"):
        st.dataframe(df.pivot_table(index="ts", columns="tag", values="avg").tail(500))
        st.download_button("Download CSV", df.to_csv(index=False).encode(), file_name="trend.csv", mime="text/csv",
                           key="trend_csv")
