{{ config(materialized='ephemeral') }}
-- Interval energy per cumulative register and 5-minute bucket (counter_delta: rollover and
-- replacement handling), reading `counter_lookback_days` before the window so the first bucket of
-- the window has its predecessor. Callers keep the window's rows.
with readings as (
    select
        m.site_id,
        m.block_id,
        m.meter_tag,
        m.meter_role,
        m.energy_point_id,
        m.power_point_id,
        m.wrap_at,
        r.bucket,
        r.local_date,
        r.n,
        r.first_value,
        r.last_value,
        lag(r.last_value) over (partition by r.point_id order by r.bucket) as prev_value,
        lag(r.bucket) over (partition by r.point_id order by r.bucket) as prev_bucket
    from {{ ref('fct_rollup_5m') }} as r
    inner join {{ ref('int_meters_paired') }} as m on r.point_id = m.energy_point_id
    where
        r.n > 0
        and {{ local_date_in_window('r.local_date', var('counter_lookback_days')) }}
)

select
    site_id,
    block_id,
    meter_tag,
    meter_role,
    energy_point_id,
    power_point_id,
    bucket,
    local_date,
    n as n_counter_readings,
    last_value as register_value,
    {{ counter_delta('last_value', 'prev_value', 'first_value', 'wrap_at') }} as energy,
    {{ counter_event('last_value', 'prev_value', 'wrap_at') }} as counter_event,
    coalesce(prev_bucket < bucket - interval '5 minutes', false) as spans_gap
from readings
