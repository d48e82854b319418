"""Pure parts of the app with worked examples: hashing, KPIs, ISA-18.2 alarm KPIs, SLA arithmetic, diagram."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from streamlit_app.auth import hash_password, verify_password
from streamlit_app.components import alarm_kpis
from streamlit_app.components.live import block_kpis, hx_approach, mode_from_values, values_by_tag
from streamlit_app.components.sla import credit_pct, merged_minutes
from streamlit_app.components.thermal_diagram import temp_colour, thermal_figure


def test_password_hashes_verify_and_reject_tampering() -> None:
    stored = hash_password("s3cret")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("s3cret", stored)
    assert not verify_password("s3cret ", stored)
    assert not verify_password("s3cret", stored[:-1] + ("0" if stored[-1] != "0" else "1"))
    salt = b"fixed-salt-16byt"
    pbkdf2 = f"pbkdf2_sha256$1000${salt.hex()}${hashlib.pbkdf2_hmac('sha256', b'pw', salt, 1000).hex()}"
    assert verify_password("pw", pbkdf2)
    assert not verify_password("pw", "md5$abc")          # unknown schemes never verify


def test_block_kpis_by_billing_role_and_mode_register() -> None:
    latest = pd.DataFrame({
        "tag": ["MET-01-kW", "PDU-01-kW", "PDU-02-kW", "PDU-03-kW", "MET-T1-kWt", "MODE-current", "TT-L2s"],
        "billing_role": ["facility_power_kw", "it_power_kw", "it_power_kw", "it_power_kw", "thermal_power_kw", None,
                         None],
        "value": [1060.0, 300.0, 350.0, 350.0, 700.0, 2.0, 0.0],
        "ts": [datetime.now(UTC)] * 7, "quality": [0, 0, 0, 0, 0, 0, 2]})
    k = block_kpis(latest, event_state="EXPORT")
    assert (k.it_kw, k.facility_kw, k.heat_kw) == (1000.0, 1060.0, 700.0)
    assert k.pue == pytest.approx(1.06)
    assert k.mode == "REJECT"                          # the PLC register wins over the last event
    assert k.bad_points == 1
    assert "TT-L2s" not in values_by_tag(latest)         # a BAD reading's 0 is not shown as 0 °C
    assert mode_from_values({}, "MIXED") == "MIXED"
    assert hx_approach({"TT-HXpIn": 45.0, "TT-HXsOut": 40.2}) == pytest.approx(4.8)


def test_isa_alarm_kpis() -> None:
    end = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    start = end - timedelta(hours=1)
    flood = [start + timedelta(minutes=1, seconds=10 * i) for i in range(12)]       # 12 in one 10-min period
    raises = pd.DataFrame({"ts": flood, "tag": ["TT-L2s"] * 10 + ["FT-L2"] * 2, "priority": ["P3"] * 12})
    alarms = pd.DataFrame({
        "state": ["ACTIVE_ACK", "ACTIVE_UNACK", "CLOSED"],
        "priority": ["P0", "P0", "P1"],
        "raised_at": [end - timedelta(minutes=5), end - timedelta(hours=30), end - timedelta(minutes=50)],
        "acked_at": [end - timedelta(minutes=5) + timedelta(seconds=20), None, end - timedelta(minutes=20)],
        "shelved_until": [None, end + timedelta(hours=1), None],
        "chattering": [False, True, False]})
    k = alarm_kpis.compute(raises, alarms, start, end)
    assert k.per_hour == 12 and k.per_day == 288
    assert k.peak_10min == 12
    assert k.flood_pct == pytest.approx(100 / 6)                                  # 1 of 6 ten-minute periods
    assert (k.standing, k.stale, k.shelved, k.chattering) == (2, 1, 1, 1)
    assert k.ack_compliance_pct["P0"] == 100.0                                     # 20 s ≤ 30 s
    assert k.ack_compliance_pct["P1"] == 0.0                                       # 30 min > 15 min
    assert k.priority_mix_pct["P3"] == 100.0


def test_sla_merges_overlapping_outages_and_applies_credit_tiers() -> None:
    t0 = pd.Timestamp("2026-01-10T00:00Z")
    m = lambda a, b: (t0 + pd.Timedelta(minutes=a), t0 + pd.Timedelta(minutes=b))  # noqa: E731
    assert merged_minutes([m(0, 60), m(30, 90), m(200, 210)]) == 100       # overlap counted once
    assert merged_minutes([]) == 0
    # Domain §7.6 sample: 106 min down in a 31-day month → 99.7625 % vs class B 99.9 % → 5 % credit.
    avail = 100 * (44_640 - 106) / 44_640
    assert round(avail, 4) == 99.7625
    assert credit_pct(avail, 99.9) == 5
    assert credit_pct(99.3, 99.9) == 10 and credit_pct(98.8, 99.9) == 25 and credit_pct(97.0, 99.9) == 50
    assert credit_pct(99.95, 99.9) == 0


def test_thermal_diagram_shows_live_values_and_mode() -> None:
    fig = thermal_figure({"TT-L2s": 45.3, "TT-L2r": 35.1, "FT-L2": 75.0, "V-EXP-pos": 100.0, "V-REJ-pos": 0.0},
                         "EXPORT")
    texts = [a["text"] for a in fig["layout"]["annotations"]]
    assert "TT-L2s 45.3 °C" in texts and "V-EXP 100 %" in texts and "V-REJ 0 %" in texts
    assert "EXPORT" in fig["layout"]["title"]["text"]
    assert temp_colour(20) == "rgb(33,102,172)" and temp_colour(55) == "rgb(178,24,43)"
    assert temp_colour(float("nan")) == "#9e9e9e"
