"""Power / UPS: the electrical chain — meter vs switchboard (the 2 % rule), PDUs, UPS battery.

MSB-01-kW must agree with MET-01-kW within 2 % (domain §1.5); the variance is plotted so a drift
shows before billing notices.
"""

from __future__ import annotations

import streamlit as st

from streamlit_app import queries as q
from streamlit_app import ui
from streamlit_app.components.charts import lines, range_picker, wide
from streamlit_app.components.live import values_by_tag

UPS_TAGS = ["UPS-01-load", "UPS-01-batt-pct", "UPS-01-runtime", "UPS-01-on-batt", "UPS-01-T-int", "UPS-01-kW-out"]

ui.require_user()
fl = ui.fleet()
ui.header("Power / UPS", fl)

if fl is not None:
    latest, source = q.latest(fl.site_id, fl.block_id)
    v = values_by_tag(latest)
    if v:
        c = st.columns(5)
        c[0].metric("Meter (MET-01)", ui.fmt(v.get("MET-01-kW"), "kW", 0))
        c[1].metric("UPS load", ui.fmt(v.get("UPS-01-load"), "%", 0))
        c[2].metric("UPS battery", ui.fmt(v.get("UPS-01-batt-pct"), "%", 0))
        c[3].metric("UPS runtime", ui.fmt(v.get("UPS-01-runtime"), "min", 0))
        on_batt = v.get("UPS-01-on-batt")
        c[4].metric("UPS source", "battery" if on_batt and on_batt >= 0.5 else "mains" if on_batt is not None else "—")
        if source == "history":
            st.caption("No live ingest: values are the newest stored readings.")
    start, end = range_picker("power_range", default="24 h")
    with st.spinner("Loading electrical series…"):
        chain = q.series_by_tag(fl.site_id, fl.block_id, ["MET-01-kW", "MSB-01-kW", "PDU-01-kW", "PDU-02-kW",
                                                          "PDU-03-kW", "UPS-01-kW-out"], start, end)
    if chain.empty:
        ui.no_data("No electrical readings in this range.", "Backfill (`mcs backfill --days 1`) or start `mcs up`.")
        st.stop()
    st.plotly_chart(lines(chain, "Electrical chain", unit="kW"), key="power_chain")
    w = wide(chain)
    if {"MET-01-kW", "MSB-01-kW"} <= set(w.columns):
        var = (100 * (w["MSB-01-kW"] - w["MET-01-kW"]) / w["MET-01-kW"]).rename("avg").reset_index()
        fig = lines(var.assign(tag="MSB vs MET"), "Switchboard vs revenue meter (limit ±2 %)", unit="%")
        fig.add_hrect(y0=-2, y1=2, fillcolor="green", opacity=0.08, line_width=0)
        st.plotly_chart(fig, key="power_variance")
    ups = q.series_by_tag(fl.site_id, fl.block_id, UPS_TAGS[:3], start, end)
    if not ups.empty:
        st.plotly_chart(lines(ups, "UPS load / battery / runtime"), key="power_ups")
