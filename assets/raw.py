"""Tables written outside dbt (ingestor, edge, registry, alarm engine) as external assets.

They come from the dbt sources so keys always match what the dbt models depend on. Raw telemetry is
daily partitioned (site-local days, like the roll-ups) so its data-quality checks run per day; the
others are unpartitioned. Freshness is checked by expectations.checks (ingest_fresh,
heartbeats_fresh) and watched continuously by the stalled-ingest sensor.
"""

from dagster import AssetSpec

from assets.dbt import source_specs
from assets.keys import RAW_TELEMETRY
from orchestration.partitions import daily_partitions


def external_assets() -> list[AssetSpec]:
    specs = []
    for spec in source_specs():
        if spec.key == RAW_TELEMETRY:
            spec = spec.replace_attributes(partitions_def=daily_partitions)
        specs.append(spec)
    return specs
