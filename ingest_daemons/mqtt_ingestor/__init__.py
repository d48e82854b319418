"""The MQTT ingestor (`mcs ingest`): MCS MQTT v1 from the broker into raw.* and ops.point_latest, zero-loss.

Modules: router (topic → rows, validation, dead letters), units (conversion), store (PostgreSQL
batches), daemon (MQTT session, acks after commit, counters), config, cli. See README.md.
"""
