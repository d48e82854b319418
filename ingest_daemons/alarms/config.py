"""Alarm engine settings (env prefix MCS_ALARMS_; CLI options override them)."""

from __future__ import annotations

import os
import socket

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mcs.alarms.state_machine import Policy


class AlarmSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MCS_ALARMS_", extra="ignore")

    group: str = "mcs-alarms"                 # own shared-subscription group, independent of the ingestor's
    client_id: str | None = None              # stable per replica; default mcs-alarms-{instance}
    session_expiry_s: int = 3600              # the broker queues an offline replica's share this long
    receive_maximum: int = 1000
    tick_s: float = 1.0                       # time-driven checks (silent sources, edge heartbeats, modes)
    shelve_check_s: float = 5.0               # shelve expiry
    registry_refresh_s: float = 60.0
    reconcile_s: float = 30.0                 # clear open alarms the live evaluation says are normal (replay)
    edge_offline_s: float = 90.0              # no heartbeat for longer → P0 edge-offline (domain §3.8)
    stale_min_s: float = 120.0                # a point silent this long (and ≥ 5 polls) → silent-source alarm
    bad_delay_s: float = 30.0                 # BAD quality this long → sensor alarm (thermal-safety: 5 s, §5.5)
    report_s: float = 5.0                     # counters into ops.ingest_counters
    # Notifications of P0/P1 raises and escalations (all optional).
    notify_priorities: str = "P0,P1"
    webhook_url: str | None = None            # POST JSON {event, alarm_id, priority, site_id, …}
    webhook_timeout_s: float = 5.0
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_from: str = "mcs-alarms@localhost"
    smtp_to: str | None = None                # comma-separated
    dashboard_url: str | None = None          # link in notifications, e.g. http://noc:8501

    def policy(self) -> Policy:
        return Policy(edge_offline_s=self.edge_offline_s, stale_min_s=self.stale_min_s, bad_delay_s=self.bad_delay_s,
                      bad_delay_safety_s=min(5.0, self.bad_delay_s))

    @property
    def notify_set(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.notify_priorities.split(",") if p.strip())


def instance_name() -> str:
    return os.environ.get("MCS_INSTANCE") or socket.gethostname()
