"""Alarms: the active list with filters, acknowledge (single/bulk), shelve/unshelve, history, KPIs.

Everyone signed in may look; only operators and admins act (the controls are disabled for the
other roles and the actions module refuses them again; mcs.alarms.actions refuses them a third
time on the server side). Every action is audited by the alarm actions module.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from streamlit_app import actions, ui
from streamlit_app import queries as q
from streamlit_app.components import alarm_kpis

FLASH = "alarms_flash"

user = ui.require_user()
fl = ui.fleet()
ui.header("Alarms", fl)


def flash(ok: bool, message: str) -> None:
    st.session_state[FLASH] = (ok, message)
    st.rerun()


def show_flash() -> None:
    msg = st.session_state.pop(FLASH, None)
    if msg:
        (st.success if msg[0] else st.error)(msg[1])


def label(row: pd.Series) -> str:
    return f"{row['priority']} · {row['tag']} · {row['state']} · {pd.Timestamp(row['raised_at']):%Y-%m-%d %H:%M}"


def active_tab(site: str, block: str) -> None:
    f = st.columns([1, 2, 2, 2])
    scope = f[0].radio("Scope", ["Block", "Site", "Fleet"], horizontal=False, key="alarm_scope")
    pris = f[1].multiselect("Priority", ["P0", "P1", "P2", "P3"], default=["P0", "P1", "P2", "P3"],
                            key="alarm_priorities")
    states = f[2].multiselect("State", ["ACTIVE_UNACK", "ACTIVE_ACK", "RTN_UNACK"],
                              default=["ACTIVE_UNACK", "ACTIVE_ACK", "RTN_UNACK"], key="alarm_states")
    search = f[3].text_input("Tag contains", key="alarm_search")
    df = q.active_alarms(site if scope != "Fleet" else None, block if scope == "Block" else None)
    if not df.empty and user.sites:
        df = df[df["site_id"].map(user.sees_site)]
    if not df.empty:
        df = df[df["priority"].isin(pris) & df["state"].isin(states)]
        if search:
            df = df[df["tag"].str.contains(search, case=False, regex=False)]
    if df.empty:
        st.success("No active alarms match the filters.", icon=":material/check_circle:")
    else:
        shown = df[["priority", "state", "tag", "site_id", "block_id", "description", "value", "threshold",
                    "raised_at", "acked_by", "shelved_until", "suppressed_by", "alarm_id"]]
        st.dataframe(shown, hide_index=True, key="alarm_table",
                     column_config={"raised_at": st.column_config.DatetimeColumn("raised",
                                                                                 format="YYYY-MM-DD HH:mm:ss"),
                                    "shelved_until": st.column_config.DatetimeColumn("shelved until")})
        st.caption(f"{len(df)} active alarm(s) shown (newest first within priority).")

    st.subheader("Actions")
    may_act = user.can_act
    if not may_act:
        st.info(f"Signed in as {user.role}: you can view alarms; only operators and admins acknowledge or shelve.",
                icon=":material/lock:")
    rows = {r["alarm_id"]: label(r) for _, r in df.iterrows()} if not df.empty else {}
    unacked = [a for a, s in zip(df.get("alarm_id", []), df.get("state", []), strict=True)
               if s in ("ACTIVE_UNACK", "RTN_UNACK")]
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Acknowledge**")
        chosen = st.multiselect("Alarms to acknowledge", unacked, format_func=lambda a: rows.get(a, a),
                                key="ack_select", disabled=not may_act)
        comment = st.text_input("Comment (optional)", key="ack_comment", disabled=not may_act)
        b1, b2 = st.columns(2)
        if b1.button("Acknowledge selected", key="ack_button", type="primary", disabled=not may_act):
            out = actions.ack(user, chosen, comment)
            flash(out.ok, out.message)
        if b2.button(f"Acknowledge all {len(unacked)} shown", key="ack_all_button",
                     disabled=not may_act or not unacked):
            out = actions.ack(user, unacked, comment)
            flash(out.ok, out.message)
    with c2:
        st.markdown("**Shelve**")
        candidates = [a for a in rows if a not in set(df[df["shelved_until"].notna()]["alarm_id"])] if rows else []
        target = st.selectbox("Alarm", candidates, format_func=lambda a: rows.get(a, a), key="shelve_select",
                              disabled=not may_act, index=None, placeholder="choose an alarm")
        hours = st.number_input("Duration (hours)", min_value=0.5, max_value=24.0, value=8.0, step=0.5,
                                key="shelve_hours", disabled=not may_act)
        reason = st.text_input("Reason (required)", key="shelve_reason", disabled=not may_act)
        if st.button("Shelve", key="shelve_button", disabled=not may_act):
            out = actions.shelve(user, target, hours, reason) if target else actions.Outcome(False, "Choose an alarm.")
            flash(out.ok, out.message)
        shelved = list(df[df["shelved_until"].notna()]["alarm_id"]) if not df.empty else []
        if shelved:
            un = st.selectbox("Shelved alarm", shelved, format_func=lambda a: rows.get(a, a), key="unshelve_select",
                              disabled=not may_act)
            if st.button("Unshelve", key="unshelve_button", disabled=not may_act):
                out = actions.unshelve(user, un)
                flash(out.ok, out.message)


def history_tab(site: str, block: str) -> None:
    days = st.select_slider("Window", options=[1, 7, 31], value=7, format_func=lambda d: f"{d} days",
                            key="alarm_history_days")
    hist = q.alarm_history(site, block, days)
    if hist.empty:
        ui.no_data("No alarm events in this window.", "The alarm engine (`mcs alarms run`, started by `mcs up`) "
                   "writes them as limits are crossed.")
        return
    st.dataframe(hist, hide_index=True, key="alarm_history")


def kpi_tab(site: str, block: str) -> None:
    end = datetime.now(UTC)
    days = st.radio("KPI window", [1, 7, 30], index=1, horizontal=True, format_func=lambda d: f"{d} d",
                    key="alarm_kpi_days")
    start = end - timedelta(days=days)
    k = alarm_kpis.compute(q.raises_in_window(site, block, start, end), q.alarms_in_window(site, block, start, end),
                           start, end)
    c = st.columns(4)
    c[0].metric("Alarms / hour", f"{k.per_hour:.2f}", help="ISA-18.2: ≈ 6 acceptable, 12 maximum manageable")
    c[1].metric("Alarms / day", f"{k.per_day:.0f}", help="≈ 150 acceptable, 300 maximum manageable")
    c[2].metric("10-min periods in flood", f"{k.flood_pct:.2f} %", help="> 10 alarms in 10 min; target < 1 %")
    c[3].metric("Peak per 10 min", k.peak_10min)
    c = st.columns(4)
    c[0].metric("Standing now", k.standing)
    c[1].metric("Stale (> 24 h)", k.stale, help="target < 5")
    c[2].metric("Shelved", k.shelved)
    c[3].metric("Top-10 tags share", f"{k.top10_share_pct:.0f} %", help="target < 1–5 % of total per alarm")
    left, right = st.columns(2)
    mix = pd.DataFrame({"priority": list(k.priority_mix_pct), "share %": list(k.priority_mix_pct.values())})
    left.plotly_chart(px.bar(mix, x="priority", y="share %", color="priority", color_discrete_map=ui.PRIORITY_COLOURS,
                             title="Priority mix (target ≈ 5/15/80 % high/medium/low)", height=300),
                      key="alarm_mix")
    comp = pd.DataFrame({"priority": list(k.ack_compliance_pct),
                         "acked on time %": [v if v is not None else float("nan")
                                             for v in k.ack_compliance_pct.values()]})
    right.dataframe(comp, hide_index=True, key="alarm_ack_compliance")
    mart = q.mart("marts.fct_alarm_kpis_daily", site)
    if not mart.empty:
        st.markdown("**Daily KPIs (dbt mart `marts.fct_alarm_kpis_daily`)**")
        st.dataframe(mart[mart.get("block_id", block) == block] if "block_id" in mart else mart, hide_index=True)
    else:
        st.caption("Daily KPI marts not built yet (`mcs dbt build`); figures above are computed from ops tables.")


if fl is not None:
    show_flash()
    if not q.relation_exists("ops.alarms"):
        ui.no_data("The alarm tables do not exist yet.", "Run `mcs db upgrade` (migration 0003_alarms).")
    else:
        try:
            t1, t2, t3 = st.tabs(["Active", "History", "ISA-18.2 KPIs"])
            with t1:
                active_tab(fl.site_id, fl.block_id)
            with t2:
                history_tab(fl.site_id, fl.block_id)
            with t3:
                kpi_tab(fl.site_id, fl.block_id)
        except actions.ActionUnavailable as exc:
            st.error(str(exc))
