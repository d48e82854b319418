select
    site_id,
    block_id,
    ts as event_at,
    alarm_id,
    action,
    priority,
    sensor_tag as tag,
    subsystem,
    value,
    threshold,
    direction,
    description,
    received_at
from {{ source('raw', 'edge_alarm_events') }}
