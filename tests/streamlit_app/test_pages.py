"""Every page of the Streamlit app rendered with AppTest against a real database with simulated data.

The expected figures are recomputed from the database independently of the app's queries (e.g.
IT power = Σ PDU kW in ops.point_latest), so a page that shows a number shows the right one.
"""

from __future__ import annotations

import math

import psycopg
import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.errors import AppTestError

from mcs.db.engine import libpq_url
from streamlit_app.auth import DEFAULT_USERS_FILE, authenticate, load_users
from streamlit_app.navigation import PAGES, roles_pages
from tests.streamlit_app.conftest import APP, BLOCK, SITE, signed_in

ALL_PAGES = [p[1] for p in PAGES]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def find_table(at: AppTest, *columns: str):  # noqa: ANN201 - a pandas DataFrame
    """The first st.dataframe on the page that has these columns (display frames carry no key in AppTest)."""
    for df in at.dataframe:
        if set(columns) <= set(df.value.columns):
            return df.value
    raise AssertionError(f"no table with columns {columns}")


def number(value: str) -> float:
    return float(value.split()[0].replace(",", ""))


def scalar(url: str, sql: str, *params: object) -> object:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(sql, params).fetchone()[0]


def alarm_state(url: str, alarm_id: str) -> tuple[str, str | None]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT state, acked_by FROM ops.alarms WHERE alarm_id = %s", (alarm_id,)).fetchone()


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not [e.value for e in at.error], [e.value for e in at.error]


# -- sign-in and roles -------------------------------------------------------------------------------
def test_demo_users_file_has_every_role_with_hashed_passwords() -> None:
    users = load_users(DEFAULT_USERS_FILE)
    assert {u.role for u, _ in users.values()} == {"operator", "analyst", "finance", "admin"}
    assert all(h.startswith(("scrypt$", "pbkdf2_sha256$")) for _, h in users.values())
    assert authenticate(DEFAULT_USERS_FILE, "operator", "operator-demo").role == "operator"
    assert authenticate(DEFAULT_USERS_FILE, "operator", "wrong") is None
    assert authenticate(DEFAULT_USERS_FILE, "nobody", "operator-demo") is None


def test_sign_in_form_rejects_a_wrong_password_and_signs_in_with_the_right_one(app_database_url: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert at.title[0].value.startswith("MCS platform — sign in")
    at.text_input(key="signin_user").input("finance")
    at.text_input(key="signin_password").input("nope")
    at.button[0].click().run()
    assert "wrong password" in at.error[0].value
    assert "mcs_user" not in at.session_state
    at.text_input(key="signin_password").input("finance-demo")
    at.button[0].click().run()
    assert at.session_state["mcs_user"]["role"] == "finance"
    no_errors(at)
    # The sign-in is audited.
    assert scalar(app_database_url, "SELECT count(*) FROM ops.audit_log WHERE action = 'auth.sign_in' "
                  "AND actor = 'finance'") >= 1


def test_pages_by_role() -> None:
    assert "pages/operators/commands.py" in roles_pages("operator")
    assert "pages/operators/commands.py" not in roles_pages("finance")
    assert "pages/operators/commands.py" not in roles_pages("analyst")
    assert "pages/finance/reports.py" in roles_pages("finance")
    assert "pages/finance/reports.py" not in roles_pages("operator")
    assert set(roles_pages("admin")) == set(ALL_PAGES)


def test_a_finance_user_cannot_open_the_commands_page(app_database_url: str) -> None:
    at = signed_in("finance")
    with pytest.raises(ValueError):
        at.switch_page("pages/operators/commands.py")


@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_renders_for_admin(app_database_url: str, page: str) -> None:
    at = signed_in("admin", page)
    no_errors(at)
    assert at.title, page


# -- Live NOC ----------------------------------------------------------------------------------------
def test_live_noc_shows_block_kpis_from_the_latest_values(app_database_url: str) -> None:
    at = signed_in("operator", "pages/operators/live_noc.py")
    no_errors(at)
    m = metrics(at)
    it_kw = scalar(app_database_url, """SELECT sum(l.value) FROM ops.point_latest l JOIN ref.points p USING (point_id)
                   WHERE p.site_id = %s AND p.block_id = %s AND p.billing_role = 'it_power_kw'""", SITE, BLOCK)
    fac_kw = scalar(app_database_url, """SELECT l.value FROM ops.point_latest l JOIN ref.points p USING (point_id)
                    WHERE p.site_id = %s AND p.block_id = %s AND p.billing_role = 'facility_power_kw'""", SITE, BLOCK)
    assert number(m["IT power"]) == pytest.approx(it_kw, abs=1)
    assert number(m["PUE now"]) == pytest.approx(fac_kw / it_kw, abs=0.001)
    assert m["Thermal mode"] in {"EXPORT", "MIXED", "REJECT", "MAINTENANCE"}
    assert number(m["Heat exported"]) >= 0
    # Seeded alarms: 2 P1, 4 P2, 3 P3 not closed (acks elsewhere do not close ACTIVE alarms).
    assert m["Active P0 alarms"] == "0"
    assert int(m["Active P1 alarms"]) == 2
    assert m["Edge"] == "online"
    charts = at.get("plotly_chart")
    assert charts, "the three-loop diagram is drawn"
    assert "TT-L2s" in charts[0].proto.spec and "V-EXP" in charts[0].proto.spec


# -- Alarms ------------------------------------------------------------------------------------------
def test_alarm_list_filters_by_priority(app_database_url: str) -> None:
    at = signed_in("operator", "pages/operators/alarms.py")
    no_errors(at)
    table = find_table(at, "alarm_id", "tag", "priority")
    assert {"TT-L2s", "PT-HX-dP", "SW-01-cpu"} <= set(table["tag"])
    at.multiselect(key="alarm_priorities").set_value(["P1"]).run()
    assert set(find_table(at, "alarm_id", "tag", "priority")["priority"]) == {"P1"}


def test_operator_acknowledges_one_alarm_and_it_is_audited(app_database_url: str) -> None:
    aid = "ack-single-TT-CDU1r"
    assert alarm_state(app_database_url, aid) == ("ACTIVE_UNACK", None)
    at = signed_in("operator", "pages/operators/alarms.py")
    at.multiselect(key="ack_select").set_value([aid]).run()
    at.button(key="ack_button").click().run()
    no_errors(at)
    assert alarm_state(app_database_url, aid) == ("ACTIVE_ACK", "operator")
    assert any("Acknowledged 1" in s.value for s in at.success)
    assert scalar(app_database_url, "SELECT count(*) FROM ops.audit_log WHERE action = 'alarm.ack' AND target = %s "
                  "AND actor = 'operator'", aid) == 1
    # The refreshed list shows the new state.
    table = find_table(at, "alarm_id", "tag", "priority")
    assert table.set_index("alarm_id").loc[aid, "state"] == "ACTIVE_ACK"


def test_operator_bulk_acknowledges(app_database_url: str) -> None:
    ids = ["ack-bulk-TT-R01-in", "ack-bulk-TT-R02-in"]
    at = signed_in("operator", "pages/operators/alarms.py")
    at.multiselect(key="ack_select").set_value(ids).run()
    at.button(key="ack_button").click().run()
    no_errors(at)
    assert [alarm_state(app_database_url, a)[0] for a in ids] == ["ACTIVE_ACK", "ACTIVE_ACK"]


def test_finance_user_cannot_acknowledge(app_database_url: str) -> None:
    aid = "finance-TT-R03-in"
    at = signed_in("finance", "pages/operators/alarms.py")
    no_errors(at)
    assert at.multiselect(key="ack_select").disabled
    assert at.button(key="ack_button").disabled
    # A browser user cannot drive disabled controls (AppTest enforces the same) …
    with pytest.raises(AppTestError):
        at.multiselect(key="ack_select").set_value([aid])
    # … and the page's action layer refuses the role before calling the alarm engine.
    from streamlit_app import actions
    from streamlit_app.auth import User

    out = actions.ack(User("finance", "Fiona", "finance"), [aid])
    assert not out.ok and "may view alarms" in out.message
    assert alarm_state(app_database_url, aid) == ("ACTIVE_UNACK", None)


def test_alarm_actions_refuse_a_finance_role_on_the_server_side(app_database_url: str) -> None:
    from mcs.alarms.actions import ActionRefused, ack
    from streamlit_app import queries as q

    with pytest.raises(ActionRefused):
        ack(q.engine(), ["finance-TT-R03-in"], "finance", "finance")
    assert alarm_state(app_database_url, "finance-TT-R03-in") == ("ACTIVE_UNACK", None)


def test_operator_shelves_with_duration_and_reason(app_database_url: str) -> None:
    aid = "shelve-TT-R04-in"
    at = signed_in("operator", "pages/operators/alarms.py")
    at.selectbox(key="shelve_select").set_value(aid)
    at.number_input(key="shelve_hours").set_value(2.0)
    at.text_input(key="shelve_reason").input("")
    at.button(key="shelve_button").click().run()
    assert any("reason" in e.value for e in at.error)           # a reason is mandatory
    at.selectbox(key="shelve_select").set_value(aid)
    at.text_input(key="shelve_reason").input("sensor being recalibrated")
    at.button(key="shelve_button").click().run()
    no_errors(at)
    hours = scalar(app_database_url, "SELECT extract(epoch FROM shelved_until - now()) / 3600 FROM ops.alarms "
                   "WHERE alarm_id = %s", aid)
    assert 1.9 < float(hours) <= 2.0
    assert scalar(app_database_url, "SELECT shelve_reason FROM ops.alarms WHERE alarm_id = %s", aid) \
        == "sensor being recalibrated"


def test_alarm_history_and_kpis(app_database_url: str) -> None:
    at = signed_in("analyst", "pages/operators/alarms.py")
    no_errors(at)
    hist = find_table(at, "event", "state_after")
    assert "RAISED" in set(hist["event"])
    m = metrics(at)
    raised_7d = scalar(app_database_url, "SELECT count(*) FROM ops.alarm_events WHERE event = 'RAISED' "
                       "AND ts >= now() - interval '7 days' AND site_id = %s AND block_id = %s", SITE, BLOCK)
    assert number(m["Alarms / day"]) == pytest.approx(raised_7d / 7, abs=1)
    assert int(m["Standing now"]) >= 4


# -- Commands ----------------------------------------------------------------------------------------
def test_commands_page_shows_the_life_cycle(app_database_url: str) -> None:
    at = signed_in("operator", "pages/operators/commands.py")
    no_errors(at)
    table = find_table(at, "cmd", "status")
    assert any("accepted" in s for s in table["status"])
    assert not at.button(key="diag_button").disabled


def test_a_mode_override_needs_a_reason(app_database_url: str) -> None:
    at = signed_in("operator", "pages/operators/commands.py")
    at.text_input(key="override_reason").input("")
    at.button[0].click().run()
    assert any("reason" in e.value for e in at.error)
    assert scalar(app_database_url, "SELECT count(*) FROM ops.commands WHERE cmd = 'mode_override'") == 0


def test_operator_requests_a_mode_override_over_mqtt(app_database_url: str, mqtt_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCS_MQTT_URL", mqtt_url)
    at = signed_in("operator", "pages/operators/commands.py")
    at.radio(key="override_mode").set_value("REJECT")
    at.text_input(key="override_reason").input("HX inspection")
    at.button[0].click().run()
    no_errors(at)
    with psycopg.connect(libpq_url(app_database_url)) as conn:
        rid, status, params, target = conn.execute(
            "SELECT request_id::text, status, params, target FROM ops.commands WHERE cmd = 'mode_override'").fetchone()
        audited = conn.execute("SELECT role, reason FROM ops.audit_log WHERE action = 'command.mode_override' "
                               "AND target = %s", (rid,)).fetchone()
    assert status == "sent" and target == "plc"
    assert params == {"target_mode": "REJECT", "reason": "HX inspection"}
    assert audited == ("operator", "HX inspection")
    assert any(rid in s.value for s in at.success)
    assert any(rid == r for r in find_table(at, "cmd", "status")["request_id"].astype(str))


def test_an_unanswered_command_times_out_on_the_page(app_database_url: str) -> None:
    with psycopg.connect(libpq_url(app_database_url)) as conn:
        rid = conn.execute("""INSERT INTO ops.commands (request_id, site_id, block_id, target, cmd, source, status,
                                  requested_at, sent_at)
                              VALUES (gen_random_uuid(), %s, %s, 'edge', 'buffer_flush', 'operator:operator', 'sent',
                                      now() - interval '2 minutes', now() - interval '2 minutes')
                              RETURNING request_id::text""", (SITE, BLOCK)).fetchone()[0]
        conn.commit()
    at = signed_in("operator", "pages/operators/commands.py")
    no_errors(at)
    assert scalar(app_database_url, "SELECT status FROM ops.commands WHERE request_id = %s", rid) == "timed_out"
    table = find_table(at, "cmd", "status")
    assert any("timed_out" in s for s in table[table["request_id"].astype(str) == rid]["status"])


def test_finance_cannot_send_commands() -> None:
    from streamlit_app import actions
    from streamlit_app.auth import User

    out = actions.request_mode_override(User("finance", "Fiona", "finance"), SITE, BLOCK, "REJECT", "because")
    assert not out.ok and "not send commands" in out.message


# -- analyst pages -----------------------------------------------------------------------------------
def test_energy_page_shows_counter_energies_and_pue(app_database_url: str) -> None:
    at = signed_in("analyst", "pages/analysts/energy.py")
    no_errors(at)
    m = metrics(at)
    fac = scalar(app_database_url, """SELECT max(t.value) - min(t.value) FROM raw.telemetry t JOIN ref.points p
                 USING (point_id) WHERE p.site_id = %s AND p.block_id = %s AND p.tag = 'MET-01-kWh'""", SITE, BLOCK)
    assert number(m["Facility energy"]) == pytest.approx(fac, rel=0.01)
    assert 1.0 < number(m["PUE (window)"]) < 1.3
    assert 0 < number(m["ERF (window)"]) < 1
    compare = find_table(at, "block", "pue")
    assert f"{SITE} / {BLOCK}" in set(compare["block"])


def test_thermal_page_cross_checks_the_heat_meter(app_database_url: str) -> None:
    at = signed_in("analyst", "pages/analysts/thermal.py")
    no_errors(at)
    m = metrics(at)
    assert abs(number(m["Meter vs flow × ΔT"])) < 3.0          # commissioning tolerance ±3 %
    assert number(m["Mean heat delivered"]) > 0
    assert 0 <= number(m["Time exporting"]) <= 100            # from mode events, or the mode register
    keys = {c.proto.id for c in at.get("plotly_chart")}
    assert keys


def test_trends_explorer_uses_the_tier_for_the_span(app_database_url: str) -> None:
    at = signed_in("analyst", "pages/analysts/trends.py")
    no_errors(at)
    assert any("Tier **5 min**" in c.value for c in at.caption)    # 24 h → 5-minute buckets
    assert at.get("plotly_chart")


def test_environmental_heatmap(app_database_url: str) -> None:
    at = signed_in("analyst", "pages/analysts/environmental.py")
    no_errors(at)
    hottest = number(metrics(at)["Hottest inlet now"])
    assert 10 < hottest < 40
    assert at.get("plotly_chart")


def test_power_and_esg_pages(app_database_url: str) -> None:
    at = signed_in("analyst", "pages/analysts/power.py")
    no_errors(at)
    assert 0 < number(metrics(at)["UPS battery"]) <= 100
    at = signed_in("analyst", "pages/analysts/esg.py")
    no_errors(at)
    m = metrics(at)
    assert number(m["CO₂ avoided by heat export"]) > 0
    assert not math.isnan(number(m["Scope 2 (location-based)"]))


# -- finance pages -----------------------------------------------------------------------------------
def test_reports_page_lists_artifacts_with_downloads_and_a_dagster_link(app_database_url: str) -> None:
    at = signed_in("finance", "pages/finance/reports.py")
    no_errors(at)
    table = find_table(at, "report", "period")
    assert list(table["report"]) == ["invoice_monthly"]
    assert at.get("download_button"), "pdf and data downloads are offered"
    links = at.get("link_button")
    assert links and "127.0.0.1:3000" in links[0].proto.url


def test_sla_page_estimates_availability(app_database_url: str) -> None:
    at = signed_in("finance", "pages/finance/sla.py")
    no_errors(at)
    est = find_table(at, "block", "availability %")
    assert list(est["block"]) == [BLOCK]
    assert 0 <= float(est["availability %"].iloc[0]) <= 100


# -- empty states ------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", ["pages/operators/live_noc.py", "pages/analysts/energy.py",
                                  "pages/finance/reports.py"])
def test_an_empty_database_says_what_to_run(database_url: str, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    monkeypatch.setenv("MCS_DATABASE_URL", database_url)
    at = signed_in("admin", page)
    no_errors(at)
    assert any("mcs up" in i.value or "mcs sites load" in i.value for i in at.info)


def test_live_noc_with_history_only_says_so(app_database_url: str, database_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """With registry and readings but no live ingest the NOC shows the newest stored values, labelled."""
    from mcs.db.engine import make_engine
    from tests.fixtures.registry import load_demo_sites

    eng = make_engine(database_url)
    load_demo_sites(eng, (SITE,))
    with eng.begin() as conn:
        conn.execute(text("SELECT raw.ensure_telemetry_partitions(now() - interval '1 day', now() + interval '1 day')"))
        conn.execute(text("""INSERT INTO raw.telemetry (ts, point_id, value, quality)
                             SELECT now() - interval '1 minute', point_id, 300, 0 FROM ref.points
                             WHERE site_id = :s AND block_id = :b AND billing_role = 'it_power_kw'"""),
                     {"s": SITE, "b": BLOCK})
    eng.dispose()
    monkeypatch.setenv("MCS_DATABASE_URL", database_url)
    at = signed_in("operator", "pages/operators/live_noc.py")
    no_errors(at)
    assert any("No live ingest" in w.value for w in at.warning)
    assert number(metrics(at)["IT power"]) == 900


# -- fleet -------------------------------------------------------------------------------------------
def test_fleet_overview_lists_every_block_and_opens_one(app_database_url: str) -> None:
    at = signed_in("analyst")                      # analysts land on the fleet overview
    no_errors(at)
    fleet = find_table(at, "site / block", "IT kW")
    assert set(fleet["site / block"]) == {"ab-baldwinsville / block-01", "rfg-foods-jhb / block-01",
                                          "rfg-foods-jhb / block-02"}
    row = fleet.set_index("site / block").loc[f"{SITE} / {BLOCK}"]
    assert row["IT kW"] > 0 and row["P1"] == 2
    assert fleet.set_index("site / block").loc["rfg-foods-jhb / block-02", "newest reading"] == "no live data"
    # Choose the other site's block and open its Alarms page: the shared selection follows.
    keys = at.selectbox(key="fleet_pick").options
    at.selectbox(key="fleet_pick").set_value(keys.index("rfg-foods-jhb / block-02")).run()
    at.button(key="fleet_open_Alarms").click().run()
    no_errors(at)
    assert at.session_state["fleet_site"] == "rfg-foods-jhb"
    assert at.session_state["fleet_block"] == "block-02"
    assert at.title[0].value == "Alarms"
    assert "rfg-foods-jhb / block-02" in at.caption[0].value


def test_operators_land_on_the_live_noc(app_database_url: str) -> None:
    at = signed_in("operator")
    no_errors(at)
    assert at.title[0].value == "Live NOC"


def test_a_user_restricted_to_one_site_sees_only_that_site(app_database_url: str) -> None:
    at = signed_in("analyst", sites=("rfg-foods-jhb",))
    no_errors(at)
    fleet = find_table(at, "site / block", "IT kW")
    assert set(fleet["site / block"]) == {"rfg-foods-jhb / block-01", "rfg-foods-jhb / block-02"}
    assert at.selectbox(key="fleet_site").options == ["RFG Foods Johannesburg (rfg-foods-jhb)"]
    at.switch_page("pages/operators/alarms.py").run()
    at.radio(key="alarm_scope").set_value("Fleet").run()
    no_errors(at)
    assert not any(SITE in c.value for c in at.caption)
    assert all(t.value.startswith("No active alarms") for t in at.success) or \
        SITE not in set(find_table(at, "alarm_id", "tag", "priority")["site_id"])


def test_trends_custom_range_and_min_max_band(app_database_url: str) -> None:
    at = signed_in("analyst", "pages/analysts/trends.py")
    at.session_state["trend_range"] = "Custom"                 # default custom range: the last 7 days
    at.session_state["trend_band"] = True
    at.run()
    no_errors(at)
    assert any("Tier **1 h**" in c.value for c in at.caption)  # 3 d ≤ span < 90 d → hourly
    spec = at.get("plotly_chart")[0].proto.spec
    assert '"fill":"tonexty"' in spec.replace(" ", "")          # the min/max band is drawn


def test_admin_audit_page_lists_the_audited_actions(app_database_url: str) -> None:
    at = signed_in("admin", "pages/admin/audit.py")
    no_errors(at)
    with psycopg.connect(libpq_url(app_database_url)) as conn:
        conn.execute("INSERT INTO ops.audit_log (actor, role, action, target) VALUES ('x', 'admin', 'test.audit', 't')")
        conn.commit()
    from streamlit_app import queries as q

    q.audit_log.clear()
    at.run()
    log = find_table(at, "actor", "action")
    assert "test.audit" in set(log["action"])
    assert "pages/admin/audit.py" not in roles_pages("operator")
