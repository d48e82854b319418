-- One reading per (point_id, ts): live raw plus the billing archive beyond raw retention.
select
    ts,
    point_id,
    cast(value as double precision) as value,
    cast(quality as smallint) as quality,
    quality = 2 as is_bad,
    received_at
from {{ source('raw', 'telemetry_all') }}
