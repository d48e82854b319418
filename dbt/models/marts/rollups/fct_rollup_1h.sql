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
-- Hourly roll-up from the five-minute tier, in site-local hours (a DST-repeated hour is two buckets;
-- half-hour zones get their own hour boundaries).
with located as (
    select
        r.*,
        {{ local_hour_bucket('r.bucket', 'p.timezone') }} as hour_bucket
    from {{ ref('fct_rollup_5m') }} as r
    inner join {{ ref('int_points_located') }} as p on r.point_id = p.point_id
    where {{ local_date_in_window('r.local_date') }}
)

select
    site_id,
    block_id,
    point_id,
    hour_bucket as bucket,
    local_date,
    sum(n)::integer as n,
    sum(sum_value) as sum_value,
    min(min_value) as min_value,
    max(max_value) as max_value,
    -- earliest / latest sub-bucket's value without an ordered aggregate (sub-buckets are unique)
    (min(array[extract(epoch from bucket)::double precision, first_value]) filter (where n > 0))[2] as first_value,
    (max(array[extract(epoch from bucket)::double precision, last_value]) filter (where n > 0))[2] as last_value,
    sum(sum_value) / nullif(sum(n), 0) as avg_value,
    sum(n_uncertain)::integer as n_uncertain,
    sum(n_bad)::integer as n_bad,
    max(last_ts) as last_ts
from located
group by 1, 2, 3, 4, 5
