{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook=[
            "{{ delete_window('local_date') }}",
            "set local enable_nestloop = off",
        ],
        indexes=[
            {'columns': ['point_id', 'bucket'], 'unique': true},
            {'columns': ['local_date']},
        ],
    )
}}
-- One-minute roll-up per point from raw readings. BAD readings are counted (n_bad) but excluded
-- from every value aggregate; avg_value = sum_value / n, never an average of averages.
-- Readings are aggregated first and joined to the registry after: freshly written chunks have no
-- statistics yet, and a nested loop over raw rows × points (the planner's pick on such estimates)
-- costs minutes; `enable_nestloop = off` (this transaction only) keeps the plan hash/sort based.
with minutes as (
    select
        t.point_id,
        {{ bucket_minutes('t.ts', 1) }} as bucket,
        count(t.value) filter (where not t.is_bad)::integer as n,
        sum(t.value) filter (where not t.is_bad) as sum_value,
        min(t.value) filter (where not t.is_bad) as min_value,
        max(t.value) filter (where not t.is_bad) as max_value,
        -- first/last without an ordered aggregate (so it can run in parallel): the smallest /
        -- largest (epoch, value) pair. Readings are unique per (point_id, ts), so there are no ties.
        (
            min(array[extract(epoch from t.ts)::double precision, t.value])
            filter (where not t.is_bad and t.value is not null)
        )[2] as first_value,
        (
            max(array[extract(epoch from t.ts)::double precision, t.value])
            filter (where not t.is_bad and t.value is not null)
        )[2] as last_value,
        count(*) filter (where t.quality = 1)::integer as n_uncertain,
        count(*) filter (where t.is_bad)::integer as n_bad,
        max(t.ts) as last_ts
    from {{ ref('stg_raw__telemetry') }} as t
    where {{ ts_in_window('t.ts') }}
    group by t.point_id, {{ bucket_minutes('t.ts', 1) }}
)

select
    p.site_id,
    p.block_id,
    m.point_id,
    m.bucket,
    {{ local_date('m.bucket', 'p.timezone') }} as local_date,
    m.n,
    m.sum_value,
    m.min_value,
    m.max_value,
    m.first_value,
    m.last_value,
    m.sum_value / nullif(m.n, 0) as avg_value,
    m.n_uncertain,
    m.n_bad,
    m.last_ts
from minutes as m
inner join {{ ref('int_points_located') }} as p on m.point_id = p.point_id
where {{ ts_in_local_window('m.bucket', 'p.timezone') }}
