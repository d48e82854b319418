"""End to end in a real browser: the Streamlit app, a database with history, live values changing.

Starts on free ports: the app (`streamlit run streamlit_app/app.py`) against a test database with
the demo site and an hour of simulated history, with live values from either
* a live writer (the simulator's LiveBlock stepping in real time, upserting ops.point_latest and
  raw.telemetry every second, as the ingestor does) — fast, few moving parts; or
* the whole chain: `mcs simulate` device servers → `mcs edge` pollers → MQTT → `mcs ingest`;
then drives headless /usr/bin/chromium over the DevTools protocol (a tiny websocket client, no
playwright download): signs in as the demo operator through the real form, screenshots the Live
NOC twice and the Alarms page into the test's tmp dir (`screenshots/`), and checks that the
rendered KPI values changed between the two NOC screenshots without a page reload
(st.fragment run_every).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mcs.db.engine import libpq_url, make_engine
from mcs.local_services.broker import free_port
from tests.fixtures.registry import load_demo_sites

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("MCS_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SITE, BLOCK = "ab-baldwinsville", "block-01"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1000"]

UPSERT_LATEST = """INSERT INTO ops.point_latest (point_id, ts, value, quality) VALUES (%s, %s, %s, 0)
                   ON CONFLICT (point_id) DO UPDATE SET ts = excluded.ts, value = excluded.value,
                   quality = excluded.quality, received_at = now()"""
INSERT_RAW = """INSERT INTO raw.telemetry (ts, point_id, value, quality) VALUES (%s, %s, %s, 0)
                ON CONFLICT (point_id, ts) DO NOTHING"""


class LiveWriter(threading.Thread):
    """The simulator block in real time → ops.point_latest + raw.telemetry every second (ingestor stand-in)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.writes = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        from simulator.live import LiveBlock
        from simulator.registry_view import load_bindings

        try:
            eng = make_engine(self.url)
            binding = next(b for b in load_bindings(eng, SITE) if b.key == (SITE, BLOCK))
            eng.dispose()
            block = LiveBlock(binding, time.time())
            ids = {p.tag: p.point_id for p in binding.points if p.point_id is not None}
            with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
                while not self.stop.is_set():
                    now = time.time()
                    block.update(now)
                    ts = datetime.fromtimestamp(now, UTC)
                    rows = [(ids[t], ts, v) for t, v in block.values.items() if t in ids]
                    with conn.cursor() as cur, conn.transaction():
                        cur.executemany(UPSERT_LATEST, rows)
                        cur.executemany(INSERT_RAW, [(ts, pid, v) for pid, _, v in rows])
                    self.writes += 1
                    self.stop.wait(1.0)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page target's websocket."""

    def __init__(self, ws_url: str) -> None:
        from websockets.sync.client import connect

        self.ws = connect(ws_url, max_size=64 * 2**20)
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def eval(self, expression: str) -> Any:
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return res.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 60.0, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.3)
        text = self.eval("document.body ? document.body.innerText.slice(0, 2000) : ''")
        raise AssertionError(f"timed out waiting for {what or expression}; page text: {text!r}")

    def type_into(self, selector: str, text: str) -> None:
        assert self.eval(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
                         "if (!e) return false; e.focus(); return true; })()"), selector
        self.call("Input.insertText", text=text)

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        self.ws.close()


def _wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s")


def prepare_database(url: str) -> None:
    """Demo site, an hour of simulated history and three open alarms for the Alarms page."""
    from simulator.backfill import backfill

    eng = make_engine(url)
    load_demo_sites(eng, (SITE,))
    eng.dispose()
    backfill(url, days=1 / 24, site_id=SITE, progress=False)
    now = datetime.now(UTC)
    with psycopg.connect(libpq_url(url)) as conn:
        for i, (tag, pri) in enumerate((("TT-L2s", "P1"), ("PT-HX-dP", "P2"), ("SW-01-cpu", "P3"))):
            conn.execute("""INSERT INTO ops.alarms (alarm_id, site_id, block_id, tag, kind, priority, direction, state,
                            raised_at, value, threshold, description)
                            VALUES (%s, %s, %s, %s, 'limit', %s, 'HIGH', 'ACTIVE_UNACK', %s, 1, 1, %s)""",
                         (f"e2e-{tag}", SITE, BLOCK, tag, pri, now - timedelta(minutes=10 + i), f"{tag} high (e2e)"))
        conn.commit()


@pytest.fixture
def live_database(database_url: str) -> Iterator[str]:
    prepare_database(database_url)
    writer = LiveWriter(database_url)
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while writer.writes < 2 and writer.error is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert writer.error is None, writer.error
        yield database_url
    finally:
        writer.stop.set()
        writer.join(timeout=10)


@contextlib.contextmanager
def running_app(db_url: str, log_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "MCS_DATABASE_URL": db_url, "MCS_APP_LIVE_REFRESH_S": "2",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    with log_path.open("w") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "streamlit"), "run", "streamlit_app/app.py",
                                 "--server.headless", "true", "--server.address", "127.0.0.1",
                                 "--server.port", str(port), "--server.fileWatcherType", "none"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_http(f"http://127.0.0.1:{port}/_stcore/health")
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(proc)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def app_url(live_database: str, tmp_path: Path) -> Iterator[str]:
    with running_app(live_database, tmp_path / "streamlit.log") as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[DevTools]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"{CHROMIUM} not installed (the Makefile's `browser` target installs it with apt-get as root)")
    port = free_port()
    proc = subprocess.Popen([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}",
                             f"--remote-debugging-port={port}", "--remote-debugging-address=127.0.0.1",
                             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(f"http://127.0.0.1:{port}/json/version", timeout=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:
            page = next(t for t in json.loads(resp.read()) if t.get("type") == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        tools.call("Page.enable")
        tools.call("Runtime.enable")
        yield tools
        tools.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


KPI_TEXT_JS = """(() => Array.from(document.querySelectorAll('[data-testid="stMetric"]'))
                 .map(m => m.innerText.replace(/\\s+/g, ' ').trim()))()"""


def kpis(tools: DevTools) -> dict[str, str]:
    out = {}
    for text in tools.eval(KPI_TEXT_JS) or []:
        for label in ("IT power", "Heat exported", "PUE now", "Facility power", "Thermal mode", "Edge"):
            if text.startswith(label) and not text.startswith("Edge and"):
                out[label] = text[len(label):].strip()
    return out


def drive(browser: DevTools, app_url: str, tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Sign in as the demo operator, screenshot the Live NOC twice and the Alarms page; KPIs before/after."""
    out_dir = tmp_path / "screenshots"
    out_dir.mkdir()
    browser.call("Page.navigate", url=app_url)
    browser.wait_for("!!document.querySelector('input[type=password]')", what="the sign-in form")
    browser.type_into("input[aria-label='User name']", "operator")
    browser.type_into("input[type=password]", "operator-demo")
    browser.eval("Array.from(document.querySelectorAll('button')).find(b => b.innerText.includes('Sign in')).click()")
    browser.wait_for("document.body.innerText.includes('Live NOC') && "
                     "/IT power\\s*[0-9,]+ kW/.test(document.body.innerText)", what="Live NOC with IT power")
    browser.wait_for("!!document.querySelector('.js-plotly-plot')", what="the thermal diagram")
    first = kpis(browser)
    browser.screenshot(out_dir / "live_noc_1.png")
    url_before = browser.eval("location.href")
    # Wait for the fragment to redraw with newer values (writer: 1 s, fragment: 2 s, cache TTL: 2 s).
    deadline = time.monotonic() + 30
    second = first
    while time.monotonic() < deadline and second == first:
        time.sleep(1.0)
        second = kpis(browser)
    browser.screenshot(out_dir / "live_noc_2.png")
    assert first.get("IT power") and re.match(r"[0-9,]+ kW", first["IT power"]), first
    assert second != first, f"live values did not change: {first}"
    assert browser.eval("location.href") == url_before, "the page was not reloaded, only the fragment"

    # Client-side navigation through the sidebar keeps the Streamlit session (and the sign-in).
    clicked = browser.eval("""(() => { const a = Array.from(document.querySelectorAll('a'))
                                      .find(a => (a.getAttribute('href') || '').endsWith('/alarms'));
                                      if (!a) return Array.from(document.querySelectorAll('a')).map(a => a.href);
                                      a.click(); return true; })()""")
    assert clicked is True, f"sidebar link to Alarms not found among {clicked}"
    browser.wait_for("document.body.innerText.includes('Acknowledge selected') && "
                     "!!document.querySelector('[data-testid=\"stDataFrame\"]')", what="the alarms page")
    assert "3 active alarm(s) shown" in browser.eval("document.body.innerText")
    time.sleep(1.0)   # let the data grid paint its canvas
    browser.screenshot(out_dir / "alarms.png")
    shots = sorted(p.name for p in out_dir.iterdir())
    assert shots == ["alarms.png", "live_noc_1.png", "live_noc_2.png"]
    assert all((out_dir / s).stat().st_size > 10_000 for s in shots)
    return first, second


def test_live_noc_and_alarms_in_headless_chromium(app_url: str, browser: DevTools, tmp_path: Path) -> None:
    first, second = drive(browser, app_url, tmp_path)
    print(f"screenshots in {tmp_path / 'screenshots'}; KPIs {first} -> {second}")


def test_live_noc_through_simulator_edge_and_ingestor(database_url: str, mqtt_url: str, browser: DevTools,
                                                      tmp_path: Path) -> None:
    """The same, with live values travelling the real path: simulator devices → `mcs edge` pollers →
    MQTT → `mcs ingest` → ops.point_latest (device ports moved to free ones: the demo ports may be
    taken on a shared machine)."""
    prepare_database(database_url)
    with psycopg.connect(libpq_url(database_url)) as conn:
        ports = [p for (p,) in conn.execute("SELECT DISTINCT port FROM ref.devices WHERE port IS NOT NULL")]
        for old in ports:
            conn.execute("UPDATE ref.devices SET port = %s WHERE port = %s", (free_port(), old))
        conn.commit()
    env = {**os.environ, "MCS_DATABASE_URL": database_url, "MCS_MQTT_URL": mqtt_url, "MCS_DATA_DIR": str(tmp_path),
           "MCS_EDGE_HEARTBEAT_S": "2", "MCS_EDGE_BACNET_CLIENT_PORT": str(free_port()),
           "MCS_EDGE_PLC_REQUESTS": "none", "MCS_INGEST_GROUP": f"e2e-{free_port()}"}
    mcs = [sys.executable, "-m", "mcs.cli"]
    procs = []
    logs = []
    try:
        for name, args in (("ingest", ["ingest"]), ("simulate", ["simulate", "--site", SITE]),
                           ("edge", ["edge", "--site", SITE, "--block", BLOCK])):
            log = (tmp_path / f"{name}.log").open("w")
            logs.append(log)
            procs.append(subprocess.Popen([*mcs, *args], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        # One GOOD, fresh reading from each kind of device: SNMP PDU, Modbus meter/CDU/thermal I/O/dry cooler.
        probe = ("PDU-01-kW", "MET-01-kW", "TT-CDU1s", "TT-L2s", "TT-DCout")
        fresh = """SELECT count(*) FROM ops.point_latest l JOIN ref.points p USING (point_id)
                   WHERE p.site_id = %s AND p.block_id = %s AND p.tag = ANY(%s) AND l.quality = 0
                   AND l.received_at > now() - interval '15 seconds'"""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            for name, proc in zip(("ingest", "simulate", "edge"), procs, strict=True):
                if proc.poll() is not None:
                    tail = (tmp_path / f"{name}.log").read_text(errors="replace")[-3000:]
                    raise AssertionError(f"mcs {name} exited with {proc.returncode}:\n{tail}")
            with psycopg.connect(libpq_url(database_url)) as conn:
                if conn.execute(fresh, (SITE, BLOCK, list(probe))).fetchone()[0] == len(probe):
                    break
            time.sleep(1.0)
        else:
            raise AssertionError(f"no GOOD live {probe} through edge + ingestor within 180 s; logs in {tmp_path}")
        with running_app(database_url, tmp_path / "streamlit.log") as app_url:
            first, second = drive(browser, app_url, tmp_path)
        assert first.get("Edge") == "online", first       # heartbeats arrive through the ingestor too
        print(f"whole chain: screenshots in {tmp_path / 'screenshots'}; KPIs {first} -> {second}")
    finally:
        for proc in reversed(procs):
            stop(proc)
        for log in logs:
            log.close()
