"""Audit & status (admins): who did what (ops.audit_log, last 7 days) and which daemons report in.

Every action taken in the app — sign-in/out, alarm acks and shelves (written by mcs.alarms.actions),
commands (mcs.commands), report downloads — lands in the append-only ops.audit_log; this page is
where an admin reviews it, next to the platform's component heartbeats (what `mcs status` shows).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from streamlit_app import queries as q
from streamlit_app import ui

user = ui.require_user()
st.title("Audit & status")
if user.role != "admin":
    st.error("Only admins may view the audit log.")
    st.stop()

st.subheader("Platform components")
comp = q.components()
if comp.empty:
    ui.no_data("No component has reported yet.", "Start the platform with `mcs up`; each daemon reports every "
               "few seconds.")
else:
    comp = comp.assign(status=["ok" if a <= 90 else "STALE" for a in comp["age_s"]],
                       last_report=[ui.fmt_age(t) for t in comp["ts"]])
    st.dataframe(comp[["component", "instance", "status", "last_report", "counters"]], hide_index=True,
                 key="audit_components")

st.subheader("Audit log (last 7 days)")
log = q.audit_log(500)
if log.empty:
    ui.no_data("No audited actions yet.", "Actions taken in the app and by the CLI appear here.")
else:
    actions = sorted(log["action"].unique())
    # Empty selection = every action, so action kinds that appear later are never hidden by default.
    chosen = st.multiselect("Actions (none selected = all)", actions, key="audit_actions")
    actor = st.text_input("Actor contains", key="audit_actor")
    shown = log[log["action"].isin(chosen)] if chosen else log
    if actor:
        shown = shown[shown["actor"].str.contains(actor, case=False, regex=False)]
    st.dataframe(shown, hide_index=True, key="audit_table")
    per_day = shown.assign(day=pd.to_datetime(shown["ts"], utc=True).dt.date).groupby(["day", "action"]).size()
    st.caption(f"{len(shown)} of {len(log)} rows; busiest day/action: "
               f"{per_day.idxmax() if not per_day.empty else '—'}")
