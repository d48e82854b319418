-- One row per stretch of time a block spent in one thermal mode, from the edge's mode events.
-- The stretch before a block's first recorded event takes that event's `previous` mode (flagged
-- is_inferred) and starts at the block's commissioning (site-local midnight).
with events as (
    select
        site_id,
        block_id,
        changed_at,
        mode,
        previous_mode,
        mode_trigger,
        operator,
        lead(changed_at) over (partition by site_id, block_id order by changed_at) as next_changed_at,
        row_number() over (partition by site_id, block_id order by changed_at) as event_number
    from {{ ref('stg_raw__mode_events') }}
),

recorded as (
    select
        site_id,
        block_id,
        mode,
        changed_at as valid_from,
        next_changed_at as valid_to,
        mode_trigger,
        operator,
        false as is_inferred
    from events
),

inferred as (
    select
        e.site_id,
        e.block_id,
        e.previous_mode as mode,
        least(
            coalesce({{ local_day_start('b.commissioned_on', 'b.timezone') }}, e.changed_at), e.changed_at
        ) as valid_from,
        e.changed_at as valid_to,
        'inferred:previous_of_first_event' as mode_trigger,
        cast(null as text) as operator,
        true as is_inferred
    from events as e
    inner join {{ ref('dim_blocks') }} as b on e.site_id = b.site_id and e.block_id = b.block_id
    where
        e.event_number = 1
        and e.previous_mode in ('EXPORT', 'MIXED', 'REJECT', 'MAINTENANCE')
),

intervals as (
    select * from recorded
    union all
    select * from inferred
    where valid_from < valid_to
)

select
    site_id,
    block_id,
    site_id || '/' || block_id || '@'
    || to_char(valid_from at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as interval_id,
    mode,
    valid_from,
    valid_to,
    valid_to is null as is_current,
    extract(epoch from valid_to - valid_from) / 3600.0 as duration_h,
    mode in ({{ billable_modes_sql() }}) as is_billable,
    mode_trigger,
    operator,
    is_inferred
from intervals
