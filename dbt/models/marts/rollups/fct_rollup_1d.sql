{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('local_date') }}",
        indexes=[
            {'columns': ['point_id', 'local_date'], 'unique': true},
            {'columns': ['local_date']},
        ],
    )
}}
-- Daily roll-up per site-local day from the hourly tier. `bucket` is the instant the local day
-- starts (23 or 25 hours long on DST change days).
select
    r.site_id,
    r.block_id,
    r.point_id,
    r.local_date,
    {{ local_day_start('r.local_date', 'p.timezone') }} as bucket,
    sum(r.n)::integer as n,
    sum(r.sum_value) as sum_value,
    min(r.min_value) as min_value,
    max(r.max_value) as max_value,
    -- earliest / latest sub-bucket's value without an ordered aggregate (sub-buckets are unique)
    (
        min(array[extract(epoch from r.bucket)::double precision, r.first_value]) filter (where r.n > 0)
    )[2] as first_value,
    (
        max(array[extract(epoch from r.bucket)::double precision, r.last_value]) filter (where r.n > 0)
    )[2] as last_value,
    sum(r.sum_value) / nullif(sum(r.n), 0) as avg_value,
    sum(r.n_uncertain)::integer as n_uncertain,
    sum(r.n_bad)::integer as n_bad,
    max(r.last_ts) as last_ts
from {{ ref('fct_rollup_1h') }} as r
inner join {{ ref('int_points_located') }} as p on r.point_id = p.point_id
where {{ local_date_in_window('r.local_date') }}
group by r.site_id, r.block_id, r.point_id, r.local_date, p.timezone
