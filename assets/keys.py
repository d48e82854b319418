"""Asset keys shared by assets, checks, jobs and sensors (one place, so they cannot drift)."""

from dagster import AssetKey

RAW_TELEMETRY = AssetKey(["raw", "telemetry_all"])
RAW_HEARTBEATS = AssetKey(["raw", "edge_heartbeats"])
FINANCE_INPUTS = AssetKey(["finance", "report_inputs"])
REPORT_PREFIX = "report"


def report_key(name: str) -> AssetKey:
    return AssetKey([REPORT_PREFIX, name])
