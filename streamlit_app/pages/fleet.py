"""Fleet overview: every site and block on one screen; a click opens that block's Live NOC.

The first stop for every audience ("find your work in one or two clicks"): which blocks run, what
they export, which have P0/P1 alarms or a silent edge. Opening a block sets the shared sidebar
selection (st.session_state), so every other page follows.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from streamlit_app import queries as q
from streamlit_app import ui
from streamlit_app.components.live import MODE_CODES
from streamlit_app.navigation import PAGES, page, roles_pages

GOTO = "fleet_goto"

user = ui.require_user()
target = st.session_state.pop(GOTO, None)
if target:
    st.switch_page(page(target))

st.title("Fleet")
st.caption("All sites and blocks you may see; open a block to follow it on every page.")


def open_block(site: str, block: str, page: str) -> None:
    # A callback runs before the rerun, so the sidebar selectors' keys may still be set here.
    st.session_state[ui.SITE_KEY] = site
    st.session_state[ui.BLOCK_KEY] = block
    st.session_state[GOTO] = page


try:
    df = q.fleet_overview()
except Exception as exc:  # noqa: BLE001
    ui.db_error(exc)
    st.stop()
df = df[df["site_id"].map(user.sees_site)] if not df.empty else df
if df.empty:
    ui.no_data("No sites are registered.", "Run `mcs up` (loads the demo sites) or `mcs sites load`.")
    st.stop()

c = st.columns(4)
c[0].metric("Blocks", len(df))
c[1].metric("IT power", ui.fmt(df["it_kw"].sum(min_count=1), "kW", 0))
c[2].metric("Heat exported", ui.fmt(df["heat_kw"].sum(min_count=1), "kWt", 0))
c[3].metric("Blocks with P0/P1 alarms", int(((df["p0"] + df["p1"]) > 0).sum()))

view = pd.DataFrame({
    "site / block": df["site_id"] + " / " + df["block_id"],
    "name": df["name"],
    "mode": [MODE_CODES.get(int(m), "?") if pd.notna(m) else "—" for m in df.get("mode_code", pd.Series(dtype=float))],
    "IT kW": df["it_kw"].round(0),
    "heat kWt": df["heat_kw"].round(0),
    "PUE": df["pue"].round(3),
    "P0": df["p0"], "P1": df["p1"], "P2": df["p2"], "P3": df["p3"], "unacked": df["unacked"],
    "edge": [("—" if pd.isna(a) else "online" if a <= 90 else f"silent {a / 60:.0f} min")
             for a in df.get("heartbeat_age_s", pd.Series([float("nan")] * len(df)))],
    "newest reading": [ui.fmt_age(t) if pd.notna(t) else "no live data" for t in df["newest"]],
})
st.dataframe(view, hide_index=True, key="fleet_table")

st.subheader("Open a block")
keys = list(zip(df["site_id"], df["block_id"], strict=True))
pick = st.selectbox("Block", range(len(keys)), format_func=lambda i: f"{keys[i][0]} / {keys[i][1]}",
                    key="fleet_pick")
allowed = set(roles_pages(user.role))
dests = [(path, title) for _, path, title, *_ in PAGES
         if path in allowed and path.rsplit("/", 1)[-1] in ("live_noc.py", "alarms.py", "energy.py", "trends.py")]
cols = st.columns(max(len(dests), 1))
for col, (path, title) in zip(cols, dests, strict=False):
    col.button(f"Open {title}", key=f"fleet_open_{title}", on_click=open_block, args=(*keys[pick], path))
