"""Reports: the artifacts Dagster produced (ops.report_artifacts) with downloads, and where to run more.

New runs are launched in the Dagster UI (the report assets are partitioned by site and month);
the app links there rather than launching runs itself, so there is one place that runs reports
and records their lineage (run id, code version, data window, content hash).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import streamlit as st

from streamlit_app import queries as q
from streamlit_app import ui
from streamlit_app.auth import app_settings

user = ui.require_user()
fl = ui.fleet(require_block=False)
ui.header("Reports", fl, "invoices, heat credits, lender and ESG reports")
dagster = (app_settings().dagster_url or "").rstrip("/")

st.link_button("Launch a new report run in Dagster", f"{dagster}/assets", icon=":material/open_in_new:")
st.caption(f"Dagster UI: {dagster} (set MCS_APP_DAGSTER_URL to change). Report assets are partitioned by site "
           "and month; materialise a partition there and it appears here.")

if fl is not None:
    scope = st.radio("Show", ["This site", "All sites"], horizontal=True, key="reports_scope")
    if not q.relation_exists("ops.report_artifacts"):
        ui.no_data("The report table does not exist yet.", "Run `mcs db upgrade` (migration 0008_reports), then "
                   "materialise report partitions in Dagster or with `mcs reports`.")
        st.stop()
    df = q.report_artifacts(fl.site_id if scope == "This site" else None)
    if df.empty:
        ui.no_data("No reports have been produced yet.", f"Launch a run in Dagster ({dagster}) or `mcs reports`.")
        st.stop()
    cols = [c for c in ("report", "site_id", "period", "created_at", "run_id", "code_version", "content_hash",
                        "pdf_path", "data_path") if c in df.columns]
    st.dataframe(df[cols], hide_index=True, key="reports_table")
    labels = {i: f"{r['report']} · {r['site_id']} · {r['period']} · {r['created_at']:%Y-%m-%d %H:%M}"
              for i, r in df.iterrows()}
    pick = st.selectbox("Artifact", list(labels), format_func=labels.get, key="reports_pick")
    row = df.loc[pick]

    def audit_download(kind: str) -> None:
        with contextlib.suppress(Exception):  # a download must not fail on the audit table
            ui.audit(user, "report.download", f"{row['report']}/{row['site_id']}/{row['period']}", None,
                     {"kind": kind, "run_id": row.get("run_id")})

    c = st.columns(2)
    for col, field, mime, kind in ((c[0], "pdf_path", "application/pdf", "pdf"),
                                   (c[1], "data_path", "application/octet-stream", "data")):
        raw_path = row.get(field)
        path = Path(str(raw_path)) if raw_path else None
        if path is not None and not path.is_absolute():
            from mcs.settings import Settings

            path = Settings().reports_path / path
        if path is not None and path.is_file():
            col.download_button(f"Download {kind} ({path.name})", path.read_bytes(), file_name=path.name, mime=mime,
                                key=f"dl_{kind}", on_click=audit_download, args=(kind,))
        else:
            col.caption(f"{kind}: file not found ({raw_path or 'none recorded'})")
