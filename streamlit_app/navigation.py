"""Which pages each role sees, grouped by audience (the sections of st.navigation).

Kept out of app.py so the mapping can be tested without running the app. Operators get the live
pages and commands; analysts the analysis pages and read-only operations; finance the reports,
SLA, energy and ESG pages and a read-only alarm list; admins everything.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent

# (section, file, title, icon, url_path, roles)
EVERYONE = frozenset({"operator", "analyst", "finance", "admin"})
PAGES: list[tuple[str, str, str, str, str, frozenset[str]]] = [
    ("Fleet", "pages/fleet.py", "Fleet overview", ":material/public:", "fleet", EVERYONE),
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
    ("Admin", "pages/admin/audit.py", "Audit & status", ":material/policy:", "audit", frozenset({"admin"})),
]


NOC_FIRST = frozenset({"operator"})


def roles_pages(role: str) -> list[str]:
    """The page files a role may open (paths relative to streamlit_app/)."""
    return [path for _, path, *_rest, roles in PAGES if role in roles]


def pages_for(role: str) -> dict[str, list[st.Page]]:
    sections: dict[str, list[st.Page]] = {}
    for section, path, title, icon, url_path, roles in PAGES:
        if role in roles:
            # Operators land on the NOC; everyone else on the fleet overview.
            default = url_path == ("noc" if role in NOC_FIRST else "fleet")
            sections.setdefault(section, []).append(st.Page(str(HERE / path), title=title, icon=icon,
                                                            url_path=url_path, default=default))
    return sections


def page(path: str) -> st.Page:
    """The st.Page registered for `path` (for st.switch_page, which matches on the page's url path)."""
    for _, p, title, icon, url_path, _roles in PAGES:
        if p == path:
            return st.Page(str(HERE / p), title=title, icon=icon, url_path=url_path)
    raise KeyError(path)
