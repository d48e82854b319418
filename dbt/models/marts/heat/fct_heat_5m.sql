{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('local_date') }}",
        indexes=[
            {'columns': ['site_id', 'block_id', 'bucket'], 'unique': true},
            {'columns': ['local_date']},
        ],
    )
}}
-- Heat delivered to the host per block and 5-minute interval. The certified meter's register
-- (MET-T1-kWht delta) is the billing quantity; flow × ΔT × ρc_p(θ) is the plausibility check.
-- Billable only for the part of the interval spent in EXPORT/MIXED, and only when the meter was
-- healthy and inside its rated conditions; otherwise the exported heat is held for review.
{%- set rated = var('heat_meter_rated') %}
with metered as (
    select * from ({{ counter_deltas_5m(['heat']) }}) as d
    where {{ local_date_in_window('d.local_date') }}
),

calculated as (
    select
        site_id,
        block_id,
        {{ bucket_minutes('bucket', 5) }} as bucket,
        local_date,
        count(*)::integer as n_minutes,
        avg(kw_calculated) * 5.0 / 60.0 as kwht_calculated,
        avg(kw_loop2) * 5.0 / 60.0 as kwht_loop2,
        avg(kw_rejected) * 5.0 / 60.0 as kwht_rejected_calculated,
        max(kw_calculated) as max_kw_calculated,
        avg(flow_m3h) as avg_flow_m3h,
        avg(supply_c) as avg_supply_c,
        avg(return_c) as avg_return_c,
        avg(delta_t_k) filter (where is_flowing) as avg_delta_t_k,
        avg(glycol_pct) as avg_glycol_pct,
        count(*) filter (where is_flowing)::integer as n_minutes_flowing,
        count(*) filter (where is_negative_dt)::integer as n_negative_dt,
        count(*) filter (where is_out_of_rated)::integer as n_minutes_out_of_rated
    from {{ ref('int_heat_calculated_1m') }}
    where {{ local_date_in_window('local_date') }}
    group by site_id, block_id, {{ bucket_minutes('bucket', 5) }}, local_date
),

meter_status as (
    select
        r.site_id,
        r.block_id,
        r.bucket,
        min(r.min_value) as min_status
    from {{ ref('fct_rollup_5m') }} as r
    inner join {{ ref('int_points_located') }} as p on r.point_id = p.point_id
    where p.billing_role = 'thermal_meter_status' and r.n > 0 and {{ local_date_in_window('r.local_date') }}
    group by r.site_id, r.block_id, r.bucket
),

grid as (
    select
        coalesce(m.site_id, c.site_id) as site_id,
        coalesce(m.block_id, c.block_id) as block_id,
        coalesce(m.bucket, c.bucket) as bucket,
        coalesce(m.local_date, c.local_date) as local_date,
        m.meter_tag,
        m.energy_point_id,
        m.energy as kwht_metered,
        m.register_value,
        m.counter_event,
        m.spans_gap,
        coalesce(m.n_counter_readings, 0) as n_counter_readings,
        c.kwht_calculated,
        c.kwht_loop2,
        c.kwht_rejected_calculated,
        c.max_kw_calculated,
        c.avg_flow_m3h,
        c.avg_supply_c,
        c.avg_return_c,
        c.avg_delta_t_k,
        c.avg_glycol_pct,
        coalesce(c.n_minutes, 0) as n_minutes,
        coalesce(c.n_minutes_flowing, 0) as n_minutes_flowing,
        coalesce(c.n_negative_dt, 0) as n_negative_dt,
        coalesce(c.n_minutes_out_of_rated, 0) as n_minutes_out_of_rated
    from metered as m
    full outer join calculated as c
        on m.site_id = c.site_id and m.block_id = c.block_id and m.bucket = c.bucket
),

mode_overlaps as (
    select
        g.site_id,
        g.block_id,
        g.bucket,
        i.mode as mode_name,
        i.is_billable,
        i.is_inferred,
        extract(
            epoch from least(g.bucket + interval '5 minutes', coalesce(i.valid_to, 'infinity'))
            - greatest(g.bucket, i.valid_from)
        ) as overlap_s
    from grid as g
    inner join {{ ref('fct_mode_intervals') }} as i
        on
            g.site_id = i.site_id
            and g.block_id = i.block_id
            and i.valid_from < g.bucket + interval '5 minutes'
            and coalesce(i.valid_to, 'infinity') > g.bucket
),

modes as (
    select
        site_id,
        block_id,
        bucket,
        sum(overlap_s) filter (where is_billable) as billable_s,
        (array_agg(mode_name order by overlap_s desc))[1] as dominant_mode,
        count(distinct mode_name)::integer as n_modes,
        bool_or(is_inferred) as mode_inferred
    from mode_overlaps
    group by site_id, block_id, bucket
),

flagged as (
    select
        g.*,
        md.dominant_mode as mode,
        coalesce(md.n_modes, 0) as n_modes,
        coalesce(md.mode_inferred, false) as mode_inferred,
        least(coalesce(md.billable_s, 0) / 300.0, 1.0) as billable_fraction,
        g.n_minutes_out_of_rated > 0 as out_of_rated,
        coalesce(ms.min_status < 1, false) as meter_fault,
        coalesce(
            greatest(g.kwht_metered, g.kwht_calculated) > 1.0
            and abs(g.kwht_metered - g.kwht_calculated)
            > {{ var('heat_crosscheck_tolerance') }} * greatest(g.kwht_metered, g.kwht_calculated),
            false
        ) as crosscheck_failed
    from grid as g
    left join modes as md on g.site_id = md.site_id and g.block_id = md.block_id and g.bucket = md.bucket
    left join meter_status as ms on g.site_id = ms.site_id and g.block_id = ms.block_id and g.bucket = ms.bucket
)

select
    site_id,
    block_id,
    meter_tag,
    energy_point_id,
    bucket,
    local_date,
    kwht_metered,
    kwht_calculated,
    kwht_metered - kwht_calculated as diff_kwht,
    (kwht_metered - kwht_calculated) / nullif(kwht_calculated, 0) as diff_ratio,
    mode,
    n_modes,
    mode_inferred,
    billable_fraction,
    kwht_metered * billable_fraction as kwht_export,
    case
        when out_of_rated or meter_fault then 0.0
        else kwht_metered * billable_fraction
    end as billable_kwht,
    case
        when out_of_rated or meter_fault then kwht_metered * billable_fraction
        else 0.0
    end as kwht_held,
    out_of_rated,
    meter_fault,
    crosscheck_failed,
    kwht_loop2,
    kwht_rejected_calculated,
    max_kw_calculated,
    avg_flow_m3h,
    avg_supply_c,
    avg_return_c,
    avg_delta_t_k,
    avg_glycol_pct,
    register_value,
    counter_event,
    spans_gap,
    n_counter_readings,
    n_minutes,
    n_minutes_flowing,
    n_negative_dt,
    n_minutes_out_of_rated
from flagged
