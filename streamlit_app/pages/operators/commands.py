"""Commands: request a thermal-mode override (or a diagnostics round trip) and follow its life cycle.

requested → sent → accepted / rejected / error / timed out (ops.commands, kept by mcs.commands and
the ingestor). The cloud only *asks*: the safety PLC owns the mode, so the override may only
request the safe states (REJECT, MAINTENANCE — domain §5.6) and needs a reason; every request is
audited. Only operators and admins see this page.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from streamlit_app import actions, ui
from streamlit_app import queries as q

FLASH = "commands_flash"
STATUS_ICON = {"requested": "🕓", "sent": "📤", "accepted": "✅", "rejected": "⛔", "error": "⚠️", "timed_out": "⌛"}

user = ui.require_user()
fl = ui.fleet()
ui.header("Commands", fl, "requests to the edge over the MCS command topic")

msg = st.session_state.pop(FLASH, None)
if msg:
    (st.success if msg[0] else st.error)(msg[1])

if fl is not None:
    if not user.can_act:
        st.info(f"Signed in as {user.role}: only operators and admins send commands.", icon=":material/lock:")
    mode = q.mode_now(fl.site_id, fl.block_id)
    st.markdown(f"Current mode (last mode event): **{mode['state'] if mode else 'unknown'}**")
    with st.form("mode_override"):
        st.markdown("**Thermal mode override request** — the PLC decides; key-switch and safety logic take "
                    "precedence over cloud requests.")
        target = st.radio("Requested mode", list(actions.MODE_OVERRIDE_TARGETS), horizontal=True, key="override_mode")
        reason = st.text_input("Reason (required, audited)", key="override_reason")
        send = st.form_submit_button("Request override", type="primary", disabled=not user.can_act)
    if send:
        try:
            out = actions.request_mode_override(user, fl.site_id, fl.block_id, target, reason)
        except actions.ActionUnavailable as exc:
            out = actions.Outcome(False, str(exc))
        st.session_state[FLASH] = (out.ok, out.message)
        st.rerun()
    if st.button("Send diagnostics request", key="diag_button", disabled=not user.can_act):
        try:
            out = actions.request_diagnostics(user, fl.site_id, fl.block_id)
        except actions.ActionUnavailable as exc:
            out = actions.Outcome(False, str(exc))
        st.session_state[FLASH] = (out.ok, out.message)
        st.rerun()

    @st.fragment(run_every=timedelta(seconds=2))
    def life_cycle(site: str, block: str) -> None:
        try:
            from mcs import commands as mcs_commands

            if mcs_commands.expire_commands(q.engine(), older_than_s=30):
                q.commands.clear()  # show the new timed_out status now, not after the cache TTL
        except ImportError:
            pass
        df = q.commands(site, block)
        if df.empty:
            ui.no_data("No commands for this block in the last 7 days.", "Requests you send appear here with "
                       "their status as the edge answers.")
            return
        df = df.assign(status=[f"{STATUS_ICON.get(s, '')} {s}" for s in df["status"]])
        st.dataframe(df[["requested_at", "cmd", "params", "source", "status", "sent_at", "answered_at", "response",
                         "request_id"]], hide_index=True, key="commands_table")

    st.subheader("Life cycle")
    life_cycle(fl.site_id, fl.block_id)
