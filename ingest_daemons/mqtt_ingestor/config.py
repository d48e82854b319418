"""Ingestor settings (env prefix MCS_INGEST_; CLI options override them)."""

from __future__ import annotations

import os
import socket

from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MCS_INGEST_", extra="ignore")

    group: str = "mcs-ingest"                 # shared-subscription group: replicas of one group split the load
    batch_size: int = 2000                    # messages per transaction (flush when reached …)
    flush_ms: int = 100                       # … or when the oldest pending message is this old
    batch_bytes: int = 1 << 20                # … and at most this much payload per transaction (batch
    #                                           topics carry ~50 readings per message: keeps commits ~10 k rows)
    client_id: str | None = None              # stable per replica; default mcs-ingest-{instance}
    # Broker keeps an offline replica's session (and its queued messages) this long. Long enough to
    # ride out a restart or an outage; short enough that a replica scaled away does not strand its
    # queue forever (MQTT 5 shared subscriptions queue to the session, not to the group).
    session_expiry_s: int = 24 * 3600
    receive_maximum: int | None = None        # unacked QoS 1 messages in flight; default 2 × batch_size
    max_past_s: int = 90 * 24 * 3600          # older readings are TIME_ERROR (raw retention is 90 days)
    max_future_s: int = 300                   # edge clock skew tolerated into the future
    registry_refresh_s: float = 60.0          # periodic registry reload (also reloaded on a miss, ≤ every 5 s)
    report_s: float = 5.0                     # counters into ops.ingest_counters
    shutdown_grace_s: float = 20.0            # SIGTERM: how long to keep retrying a failing final flush


def instance_name() -> str:
    """This replica's name: MCS_INSTANCE, else the host name (distinct per container)."""
    return os.environ.get("MCS_INSTANCE") or socket.gethostname()
