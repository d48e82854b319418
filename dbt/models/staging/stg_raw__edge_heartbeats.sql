select
    site_id,
    block_id,
    ts as heartbeat_at,
    edge_id,
    uptime_s,
    adapters,
    buffer,
    system,
    received_at
from {{ source('raw', 'edge_heartbeats') }}
