"""MCS Streamlit app entry point (`streamlit run streamlit_app/app.py`, served by `mcs up` on :8501).

The entry script is the router: sign-in first, then the sidebar fleet selectors (site → block,
shared by every page through st.session_state) and st.navigation with the pages the user's role
may see, grouped by audience. Each page is a file under pages/<audience>/.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import streamlit as st

from streamlit_app import ui
from streamlit_app.auth import UsersFileError, app_settings, authenticate

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="MCS platform", page_icon=":material/heat_pump:", layout="wide")

# (section, file, title, icon, url_path, roles)
PAGES: list[tuple[str, str, str, str, str, frozenset[str]]] = [
    ("Operations", "pages/operators/live_noc.py", "Live NOC", ":material/monitor_heart:", "noc",
     frozenset({"operator", "analyst", "admin"})),
    ("Operations", "pages/operators/alarms.py", "Alarms", ":material/notifications_active:", "alarms",
     frozenset({"operator", "analyst", "finance", "admin"})),
    ("Operations", "pages/operators/commands.py", "Commands", ":material/settings_remote:", "commands",
     frozenset({"operator", "admin"})),
    ("Analysis", "pages/analysts/energy.py", "Energy", ":material/bolt:", "energy",
     frozenset({"analyst", "finance", "admin"})),
    ("Analysis", "pages/analysts/thermal.py", "Thermal", ":material/thermostat:", "thermal",
     frozenset({"operator", "analyst", "admin"})),
    ("Analysis", "pages/analysts/trends.py", "Trends explorer", ":material/show_chart:", "trends",
     frozenset({"operator", "analyst", "admin"})),
    ("Analysis", "pages/analysts/environmental.py", "Environmental", ":material/grid_on:", "environmental",
     frozenset({"operator", "analyst", "admin"})),
    ("Analysis", "pages/analysts/power.py", "Power / UPS", ":material/battery_charging_full:", "power",
     frozenset({"operator", "analyst", "admin"})),
    ("Analysis", "pages/analysts/esg.py", "ESG", ":material/eco:", "esg",
     frozenset({"analyst", "finance", "admin"})),
    ("Finance", "pages/finance/reports.py", "Reports", ":material/description:", "reports",
     frozenset({"finance", "admin"})),
    ("Finance", "pages/finance/sla.py", "SLA", ":material/verified:", "sla",
     frozenset({"finance", "analyst", "admin"})),
]


def pages_for(role: str) -> dict[str, list[st.Page]]:
    sections: dict[str, list[st.Page]] = {}
    for section, path, title, icon, url_path, roles in PAGES:
        if role in roles:
            sections.setdefault(section, []).append(st.Page(str(HERE / path), title=title, icon=icon,
                                                            url_path=url_path))
    return sections


def sign_in() -> None:
    st.title("MCS platform — sign in")
    settings = app_settings()
    with st.form("sign_in"):
        username = st.text_input("User name", key="signin_user")
        password = st.text_input("Password", type="password", key="signin_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            user = authenticate(settings.users_file, username, password)
        except UsersFileError as exc:
            st.error(str(exc))
            return
        if user is None:
            st.error("Unknown user name or wrong password.")
            return
        ui.set_user(user)
        with contextlib.suppress(Exception):  # signing in must not depend on the audit table
            ui.audit(user, "auth.sign_in", user.username)
        st.rerun()
    st.caption("Demo users are listed in streamlit_app/README.md.")


def sign_out() -> None:
    user = ui.current_user()
    if user is not None:
        with contextlib.suppress(Exception):
            ui.audit(user, "auth.sign_out", user.username)
    ui.set_user(None)


user = ui.current_user()
if user is None:
    st.navigation([st.Page(sign_in, title="Sign in", icon=":material/login:", url_path="signin")],
                  position="hidden").run()
else:
    ui.fleet_selectors(user)
    st.sidebar.divider()
    st.sidebar.caption(f"Signed in as **{user.name}** ({user.role})")
    st.sidebar.button("Sign out", on_click=sign_out, key="sign_out")
    st.navigation(pages_for(user.role)).run()
