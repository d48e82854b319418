-- ops.alarm_events arrives with migration 0003_alarms; until then this is an empty, typed relation.
select
    event_id,
    alarm_id,
    site_id,
    block_id,
    tag,
    priority,
    ts as event_at,
    event as event_type,
    state_after,
    value,
    threshold,
    actor,
    reason,
    source as event_source
from {{ relation_or_empty('ops', 'alarm_events', [
    ('event_id', 'bigint'), ('alarm_id', 'text'), ('site_id', 'text'), ('block_id', 'text'),
    ('tag', 'text'), ('priority', 'text'), ('ts', 'timestamptz'), ('event', 'text'),
    ('state_after', 'text'), ('value', 'double precision'), ('threshold', 'double precision'),
    ('actor', 'text'), ('reason', 'text'), ('source', 'text')]) }}
