select
    site_id,
    block_id,
    ts as changed_at,
    state as mode,
    previous as previous_mode,
    trigger as mode_trigger,
    valves,
    guards,
    operator,
    received_at
from {{ source('raw', 'mode_events') }}
