"""Optional notifications of P0/P1 raises and escalations: a JSON webhook and/or an e-mail (SMTP).

Sent from a background thread (a slow endpoint never delays alarm evaluation), 3 attempts with
exponential backoff from 1 s (the reference's PagerDuty rule, domain §4.1). Exactly once across engine
replicas: only the replica whose transaction inserted the RAISED/ESCALATED event (the event table's
unique key decides) hands it to its notifier. Replay never notifies (history is not news).
"""

from __future__ import annotations

import json
import logging
import queue
import smtplib
import threading
import time
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Engine, text

from ingest_daemons.alarms.config import AlarmSettings
from mcs.alarms.state_machine import AlarmRecord, EventRow

log = logging.getLogger("mcs.alarms.notify")


@dataclass(frozen=True)
class Notification:
    event: str
    alarm_id: str
    priority: str
    site_id: str
    block_id: str
    tag: str
    value: float | None
    threshold: float | None
    description: str | None
    ts: str
    link: str | None = None

    @property
    def summary(self) -> str:
        return f"[{self.priority}] {self.site_id} / {self.block_id}: {self.description or self.tag}"

    def payload(self) -> dict[str, Any]:
        return {**self.__dict__, "summary": self.summary, "dedup_key": f"microlink-{self.alarm_id}"}


def wanted(rec: AlarmRecord, events: list[EventRow], priorities: frozenset[str]) -> list[Notification]:
    """The notifications a batch of new events calls for: annunciated raises/escalations at P0/P1."""
    out = []
    for e in events:
        if e.event in ("RAISED", "ESCALATED") and e.source != "replay" and rec.priority in priorities \
                and not rec.hidden(e.ts):
            out.append(Notification(e.event, rec.alarm_id, rec.priority, rec.site_id, rec.block_id, rec.tag,
                                    e.value, e.threshold, rec.description, e.ts.isoformat()))
    return out


class Notifier:
    """Queue + worker thread. `enabled` is False when neither a webhook nor SMTP is configured."""

    def __init__(self, settings: AlarmSettings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.queue: queue.Queue[Notification | None] = queue.Queue(maxsize=10_000)
        self.sent = 0
        self.failed = 0
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.webhook_url or (self.settings.smtp_host and self.settings.smtp_to))

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="alarm-notify", daemon=True)
            self._thread.start()

    def submit(self, rec: AlarmRecord, events: list[EventRow]) -> None:
        if not self.enabled:
            return
        for n in wanted(rec, events, self.settings.notify_set):
            if self.settings.dashboard_url:
                n = Notification(**{**n.__dict__, "link": self.settings.dashboard_url})
            try:
                self.queue.put_nowait(n)
            except queue.Full:
                self.failed += 1
                log.error("notification queue full: %s not sent", n.summary)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._thread is not None:
            self.queue.put(None)
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while True:
            n = self.queue.get()
            if n is None:
                return
            self.deliver(n)

    def deliver(self, n: Notification) -> bool:
        ok = True
        if self.settings.webhook_url:
            ok &= self._retry(lambda: self._webhook(n), f"webhook for {n.alarm_id}")
        if self.settings.smtp_host and self.settings.smtp_to:
            ok &= self._retry(lambda: self._email(n), f"e-mail for {n.alarm_id}")
        if ok:
            self.sent += 1
            self._mark(n)
        else:
            self.failed += 1
        return ok

    @staticmethod
    def _retry(fn: Any, what: str, attempts: int = 3) -> bool:
        delay = 1.0
        for i in range(attempts):
            try:
                fn()
                return True
            except Exception as exc:  # noqa: BLE001 - any transport error is retried, then logged
                log.warning("%s failed (attempt %d/%d): %s", what, i + 1, attempts, exc)
                if i < attempts - 1:
                    time.sleep(delay)
                    delay *= 2
        return False

    def _webhook(self, n: Notification) -> None:
        body = json.dumps(n.payload()).encode()
        req = urllib.request.Request(self.settings.webhook_url or "", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "mcs-alarms"})
        with urllib.request.urlopen(req, timeout=self.settings.webhook_timeout_s) as resp:  # noqa: S310
            if resp.status >= 300:
                raise RuntimeError(f"HTTP {resp.status}")

    def _email(self, n: Notification) -> None:
        s = self.settings
        msg = EmailMessage()
        msg["Subject"] = n.summary
        msg["From"] = s.smtp_from
        msg["To"] = s.smtp_to or ""
        msg.set_content("\n".join(f"{k}: {v}" for k, v in n.payload().items()))
        with smtplib.SMTP(s.smtp_host or "localhost", s.smtp_port, timeout=10) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password.get_secret_value() if s.smtp_password else "")
            smtp.send_message(msg)

    def _mark(self, n: Notification) -> None:
        if self.engine is None:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(text("UPDATE ops.alarms SET notified_at = now() WHERE alarm_id = :a"), {"a": n.alarm_id})
        except Exception as exc:  # noqa: BLE001 - bookkeeping only
            log.warning("could not mark %s notified: %s", n.alarm_id, exc)
