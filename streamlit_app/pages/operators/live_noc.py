"""Live NOC: one block at a glance, refreshed in place every few seconds (st.fragment run_every).

Only the fragment reruns on the timer, so the sidebar and the page around it are not rebuilt and
the operator's selections stay put. Values come from ops.point_latest (written by the ingestor);
while only history exists (`mcs backfill`), the newest reading of the last 15 minutes is shown
and labelled as such.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import streamlit as st

from streamlit_app import queries as q
from streamlit_app import ui
from streamlit_app.auth import app_settings
from streamlit_app.components.live import STALE_S, block_kpis, values_by_tag
from streamlit_app.components.thermal_diagram import thermal_figure

ui.require_user()
fl = ui.fleet()
ui.header("Live NOC", fl)
REFRESH = timedelta(seconds=app_settings().live_refresh_s)


def _json(value: object) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return {}


def edge_health(site: str, block: str) -> None:
    hb = q.edge_heartbeat(site, block)
    if hb is None:
        ui.no_data("No edge heartbeat in the last day.", "Start the edge and the ingestor (`mcs up`, or "
                   "`mcs edge --site S --block B` and `mcs ingest`).")
        return
    age = float(hb["age_s"])
    buffer = _json(hb.get("buffer"))
    status = "online" if age <= 90 else "OFFLINE (> 90 s)"
    cols = st.columns(4)
    cols[0].metric("Edge", status, help=f"{hb.get('edge_id')} · heartbeat {age:.0f} s ago")
    cols[1].metric("Cloud link", "connected" if buffer.get("cloud_connected", True) else "buffering")
    cols[2].metric("Spool depth", f"{int(buffer.get('depth') or 0):,}")
    cols[3].metric("Uptime", f"{float(hb.get('uptime_s') or 0) / 3600:.1f} h")
    rows = [{"adapter": name, "status": a.get("status"),
             "devices": f"{a.get('devices_online')}/{a.get('devices_total')}",
             "reads": a.get("reads_total"), "errors": a.get("errors_total"), "last read": a.get("last_read_ts")}
            for name, a in _json(hb.get("adapters")).items()]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


@st.fragment(run_every=REFRESH)
def live_panel(site: str, block: str) -> None:
    latest, source = q.latest(site, block)
    if source == "none":
        ui.no_data("No readings for this block yet.", "Run `mcs up` (simulator, edge, ingestor), or "
                   "`mcs backfill --days 1` for history.")
        return
    event = q.mode_now(site, block)
    k = block_kpis(latest, event["state"] if event else None)
    if source == "history":
        st.warning(f"No live ingest: showing the newest stored readings ({ui.fmt_age(k.newest_ts)}). "
                   "Start `mcs ingest` and the edge for live values.", icon=":material/history:")
    elif k.newest_ts is not None and (pd.Timestamp.now(tz="UTC") - k.newest_ts).total_seconds() > STALE_S:
        st.warning(f"Live values are stale: newest reading {ui.fmt_age(k.newest_ts)}.")
    counts = q.alarm_counts(site, block) if q.relation_exists("ops.alarms") else pd.DataFrame()
    by_pri = dict(zip(counts["priority"], counts["n"], strict=True)) if not counts.empty else {}

    c = st.columns(5)
    c[0].metric("IT power", ui.fmt(k.it_kw, "kW", 0))
    c[1].metric("Heat exported", ui.fmt(k.heat_kw, "kWt", 0))
    c[2].metric("PUE now", ui.fmt(k.pue, "", 3))
    c[3].metric("Thermal mode", k.mode, help=(f"since {event['ts']} ({event['trigger']})" if event else None))
    c[4].metric("Facility power", ui.fmt(k.facility_kw, "kW", 0))
    a = st.columns(4)
    for col, pri in zip(a, ("P0", "P1", "P2", "P3"), strict=True):
        col.metric(f"Active {pri} alarms", int(by_pri.get(pri, 0)))
    st.plotly_chart(thermal_figure(values_by_tag(latest), k.mode), width="stretch", key="thermal_diagram",
                    config={"displayModeBar": False})
    st.caption(f"{k.points} points · {k.bad_points} BAD · newest reading {ui.fmt_age(k.newest_ts)} · "
               f"source: {'ops.point_latest' if source == 'live' else 'raw.telemetry (history)'} · "
               f"refresh every {REFRESH.total_seconds():.0f} s")
    st.subheader("Edge and adapters")
    edge_health(site, block)


if fl is not None:
    try:
        live_panel(fl.site_id, fl.block_id)
    except Exception as exc:  # noqa: BLE001 - a dropped DB must not blank the NOC wall with a traceback
        ui.db_error(exc)
