"""MCS Streamlit app entry point (`streamlit run streamlit_app/app.py`, served by `mcs up` on :8501).

The entry script is the router: sign-in first, then the sidebar fleet selectors (site → block,
shared by every page through st.session_state) and st.navigation with the pages the user's role
may see, grouped by audience. Each page is a file under pages/<audience>/.
"""

from __future__ import annotations

import contextlib
import time

import streamlit as st

from streamlit_app import ui
from streamlit_app.auth import UsersFileError, app_settings, authenticate
from streamlit_app.navigation import pages_for

st.set_page_config(page_title="MCS platform", page_icon=":material/heat_pump:", layout="wide")


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
            # Slow down guessing within a session (the hash check itself costs ~50 ms).
            failures = st.session_state.get("signin_failures", 0) + 1
            st.session_state["signin_failures"] = failures
            time.sleep(min(failures - 1, 10) * 0.5)
            st.error("Unknown user name or wrong password.")
            return
        st.session_state.pop("signin_failures", None)
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
