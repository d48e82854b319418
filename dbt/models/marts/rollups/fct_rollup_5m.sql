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
-- Five-minute roll-up from the one-minute tier: sums of sums and counts, min of mins, max of maxes,
-- first of the earliest minute, last of the latest. 5-minute buckets never straddle a local day.
select
    site_id,
    block_id,
    point_id,
    {{ bucket_minutes('bucket', 5) }} as bucket,
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
from {{ ref('fct_rollup_1m') }}
where {{ local_date_in_window('local_date') }}
group by 1, 2, 3, 4, 5
