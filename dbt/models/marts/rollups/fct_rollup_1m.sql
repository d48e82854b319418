{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('local_date') }}",
        indexes=[
            {'columns': ['point_id', 'bucket'], 'unique': true},
            {'columns': ['local_date']},
        ],
    )
}}
-- One-minute roll-up per point from raw readings. BAD readings are counted (n_bad) but excluded
-- from every value aggregate; avg_value = sum_value / n, never an average of averages.
select
    p.site_id,
    p.block_id,
    t.point_id,
    {{ bucket_minutes('t.ts', 1) }} as bucket,
    {{ local_date(bucket_minutes('t.ts', 1), 'p.timezone') }} as local_date,
    count(t.value) filter (where not t.is_bad)::integer as n,
    sum(t.value) filter (where not t.is_bad) as sum_value,
    min(t.value) filter (where not t.is_bad) as min_value,
    max(t.value) filter (where not t.is_bad) as max_value,
    -- first/last without an ordered aggregate (lets PostgreSQL aggregate in parallel): the smallest /
    -- largest (epoch, value) pair. Readings are unique per (point_id, ts), so there are no ties.
    (
        min(array[extract(epoch from t.ts)::double precision, t.value])
        filter (where not t.is_bad and t.value is not null)
    )[2] as first_value,
    (
        max(array[extract(epoch from t.ts)::double precision, t.value])
        filter (where not t.is_bad and t.value is not null)
    )[2] as last_value,
    sum(t.value) filter (where not t.is_bad)
    / nullif(count(t.value) filter (where not t.is_bad), 0) as avg_value,
    count(*) filter (where t.quality = 1)::integer as n_uncertain,
    count(*) filter (where t.is_bad)::integer as n_bad,
    max(t.ts) as last_ts
from {{ ref('stg_raw__telemetry') }} as t
inner join {{ ref('int_points_located') }} as p on t.point_id = p.point_id
where
    {{ ts_in_window('t.ts') }}
    and {{ ts_in_local_window('t.ts', 'p.timezone') }}
group by 1, 2, 3, 4, 5
