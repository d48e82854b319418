"""Shared page furniture: the signed-in user, fleet navigation (site → block), empty states, audit.

Fleet selection lives in st.session_state (widget keys `fleet_site` / `fleet_block`, rendered by
app.py in the sidebar on every run), so every page shows the same site and block and a user who
switches from the NOC to Trends keeps their place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from streamlit_app import queries as q
from streamlit_app.auth import User

log = logging.getLogger(__name__)

USER_KEY = "mcs_user"
SITE_KEY = "fleet_site"
BLOCK_KEY = "fleet_block"

PRIORITY_COLOURS = {"P0": "#b71c1c", "P1": "#e65100", "P2": "#f9a825", "P3": "#1565c0"}
MODE_COLOURS = {"EXPORT": "#2e7d32", "MIXED": "#f9a825", "REJECT": "#1565c0", "MAINTENANCE": "#6a1b9a",
                "STARTUP": "#757575", "UNKNOWN": "#9e9e9e"}
MODE_CODES = {0: "EXPORT", 1: "MIXED", 2: "REJECT", 3: "MAINTENANCE"}


def current_user() -> User | None:
    data = st.session_state.get(USER_KEY)
    if not data:
        return None
    return User(data["username"], data["name"], data["role"], tuple(data.get("sites") or ()))


def set_user(user: User | None) -> None:
    if user is None:
        st.session_state.pop(USER_KEY, None)
    else:
        st.session_state[USER_KEY] = {"username": user.username, "name": user.name, "role": user.role,
                                      "sites": list(user.sites)}


def require_user() -> User:
    user = current_user()
    if user is None:
        st.warning("Please sign in.")
        st.stop()
    return user


@dataclass(frozen=True)
class Fleet:
    site_id: str
    block_id: str
    site_name: str
    timezone: str
    currency: str
    grid_region: str
    block: dict[str, Any]


def no_data(what: str, todo: str) -> None:
    """The empty state every page uses: what is missing and the command that produces it."""
    st.info(f"**{what}**  \n{todo}", icon=":material/info:")


def db_error(exc: Exception) -> None:
    st.error(f"The database is not reachable ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). "
             "Check MCS_DATABASE_URL, or start the platform with `mcs up`.", icon=":material/error:")


def fleet_selectors(user: User) -> None:
    """Sidebar site → block selectors (rendered by app.py on every run)."""
    try:
        all_sites = q.sites()
        all_blocks = q.blocks()
    except Exception as exc:  # noqa: BLE001 - shown to the user as an actionable message
        st.sidebar.error(f"Database unavailable: {type(exc).__name__}")
        return
    visible = all_sites[all_sites["site_id"].map(user.sees_site)] if not all_sites.empty else all_sites
    if visible.empty:
        st.sidebar.caption("No sites registered yet.")
        return
    names = dict(zip(visible["site_id"], visible["name"], strict=True))
    site_ids = list(names)
    if st.session_state.get(SITE_KEY) not in site_ids:
        st.session_state[SITE_KEY] = site_ids[0]
    site = st.sidebar.selectbox("Site", site_ids, key=SITE_KEY, format_func=lambda s: f"{names[s]} ({s})")
    block_ids = list(all_blocks[all_blocks["site_id"] == site]["block_id"])
    if not block_ids:
        st.sidebar.caption("This site has no blocks.")
        return
    if st.session_state.get(BLOCK_KEY) not in block_ids:
        st.session_state[BLOCK_KEY] = block_ids[0]
    st.sidebar.selectbox("Block", block_ids, key=BLOCK_KEY)


def fleet(require_block: bool = True) -> Fleet | None:
    """The selected site/block, or None after rendering the empty state that says what to do."""
    site, block = st.session_state.get(SITE_KEY), st.session_state.get(BLOCK_KEY)
    try:
        all_sites = q.sites()
        all_blocks = q.blocks()
    except Exception as exc:  # noqa: BLE001
        db_error(exc)
        return None
    user = current_user()
    if user is not None and not all_sites.empty:
        all_sites = all_sites[all_sites["site_id"].map(user.sees_site)]
    if all_sites.empty:
        no_data("No sites are registered" + (" that you may see." if user and user.sites else "."),
                "Run `mcs up` (loads the demo sites) or `mcs sites load`.")
        return None
    if site not in set(all_sites["site_id"]):
        site = str(all_sites.iloc[0]["site_id"])
    srow = all_sites[all_sites["site_id"] == site].iloc[0]
    brows = all_blocks[(all_blocks["site_id"] == site)]
    if block not in set(brows["block_id"]):
        if brows.empty:
            if require_block:
                no_data(f"Site {site} has no blocks.", "Add blocks to sites/<site>/site.yaml and run `mcs sites load`.")
                return None
            return Fleet(site, "", srow["name"], srow["timezone"], srow["currency"], srow["grid_region"], {})
        block = str(brows.iloc[0]["block_id"])
    brow = brows[brows["block_id"] == block].iloc[0].to_dict()
    return Fleet(site, block, srow["name"], srow["timezone"], srow["currency"], srow["grid_region"], brow)


def header(title: str, fl: Fleet | None, caption: str | None = None) -> None:
    st.title(title)
    if fl is not None:
        st.caption(f"{fl.site_name} · {fl.site_id} / {fl.block_id}" + (f" — {caption}" if caption else ""))
    elif caption:
        st.caption(caption)


def audit(user: User, action: str, target: str | None, reason: str | None = None,
          details: dict[str, Any] | None = None) -> bool:
    """Write ops.audit_log through mcs.audit.record (the alarms helper's module); False if unavailable."""
    try:
        from mcs.audit import record
    except ImportError:
        log.warning("mcs.audit not available: %s on %s by %s not audited", action, target, user.username)
        return False
    with q.engine().begin() as conn:
        record(conn, user.username, user.role, action, target, reason, details or {})
    return True


def fmt_age(ts: Any) -> str:
    if ts is None or (isinstance(ts, float) and pd.isna(ts)) or ts is pd.NaT:
        return "never"
    age = (datetime.now(UTC) - pd.Timestamp(ts).to_pydatetime()).total_seconds()
    if age < 90:
        return f"{age:.0f} s ago"
    if age < 5400:
        return f"{age / 60:.0f} min ago"
    if age < 172800:
        return f"{age / 3600:.1f} h ago"
    return f"{age / 86400:.0f} days ago"


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{value:,.{digits}f} {unit}".strip()
