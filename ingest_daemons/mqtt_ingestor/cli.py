"""`mcs ingest`: run one MQTT ingestor replica (start as many as you like; they share the load)."""

from __future__ import annotations

import logging

import click

from ingest_daemons.mqtt_ingestor.config import IngestSettings
from mcs.runtime import database_url, mqtt_url


@click.command("ingest")
@click.option("--group", default=None, help="Shared-subscription group (default mcs-ingest; env MCS_INGEST_GROUP).")
@click.option("--batch-size", type=click.IntRange(1, 50_000), default=None,
              help="Messages per transaction (default 2000).")
@click.option("--flush-ms", type=click.IntRange(1, 60_000), default=None,
              help="Flush a partial batch after this many ms (default 100).")
@click.option("--client-id", default=None,
              help="Stable MQTT client id of this replica (default mcs-ingest-{MCS_INSTANCE or hostname}).")
def ingest(group: str | None, batch_size: int | None, flush_ms: int | None, client_id: str | None) -> None:
    """MQTT → PostgreSQL: every MCS v1 message lands exactly once (acks after commit)."""
    from ingest_daemons.mqtt_ingestor.daemon import Ingestor

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mcs.ingest").setLevel(logging.INFO)
    overrides = {k: v for k, v in {"group": group, "batch_size": batch_size, "flush_ms": flush_ms,
                                   "client_id": client_id}.items() if v is not None}
    settings = IngestSettings(**overrides)
    Ingestor(database_url(), mqtt_url(), settings).run()
