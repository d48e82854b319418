{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('local_date') }}",
        indexes=[{'columns': ['point_id', 'local_date'], 'unique': true}],
    )
}}
{#- Rack inlet air temperature against the ASHRAE TC 9.9 envelopes per rack and site-local day:
    minutes inside the recommended envelope (18–27 °C), inside class A1 allowable (15–32 °C), above
    and below, from the 1-minute roll-ups (a minute counts by its mean; BAD readings are already
    excluded there). Limits and sources in seeds/business/business_constants.csv. Incremental over
    the same min_date/max_date window as the roll-ups, so a day is rebuilt after late data. -#}

with inlet_points as (
    select
        point_id,
        site_id,
        block_id,
        tag,
        equipment_tag
    from {{ ref('dim_points') }}
    where subsystem = 'environmental' and unit = '°C' and tag ~ '^TT-R[0-9]+-in$'
),

minutes as (
    select
        r.point_id,
        r.local_date,
        r.avg_value,
        r.min_value,
        r.max_value,
        r.n,
        r.n_bad
    from {{ ref('fct_rollup_1m') }} as r
    inner join inlet_points as p on r.point_id = p.point_id
    where {{ local_date_in_window('r.local_date') }}
),

limits as (
    select
        {{ bconst('ashrae_a1_recommended_min_c') }} as rec_min,
        {{ bconst('ashrae_a1_recommended_max_c') }} as rec_max,
        {{ bconst('ashrae_a1_allowable_min_c') }} as allow_min,
        {{ bconst('ashrae_a1_allowable_max_c') }} as allow_max
),

daily as (
    select
        m.point_id,
        m.local_date,
        count(*) filter (where m.n > 0) as measured_minutes,
        count(*) filter (where m.n > 0 and m.avg_value between l.rec_min and l.rec_max) as minutes_recommended,
        count(*) filter (where m.n > 0 and m.avg_value between l.allow_min and l.allow_max) as minutes_allowable,
        count(*) filter (where m.n > 0 and m.avg_value > l.allow_max) as minutes_above_allowable,
        count(*) filter (where m.n > 0 and m.avg_value < l.allow_min) as minutes_below_allowable,
        count(*) filter (where m.n > 0 and m.avg_value > l.rec_max) as minutes_above_recommended,
        min(m.min_value) as min_inlet_c,
        max(m.max_value) as max_inlet_c,
        avg(m.avg_value) filter (where m.n > 0) as mean_inlet_c,
        sum(m.n_bad) as bad_readings,
        min(l.rec_min) as recommended_min_c,
        min(l.rec_max) as recommended_max_c,
        min(l.allow_min) as allowable_min_c,
        min(l.allow_max) as allowable_max_c
    from minutes as m
    cross join limits as l
    group by m.point_id, m.local_date
)

select
    p.site_id,
    p.block_id,
    p.equipment_tag as rack,
    d.point_id,
    p.tag,
    d.local_date,
    d.measured_minutes::integer as measured_minutes,
    d.minutes_recommended::integer as minutes_recommended,
    d.minutes_allowable::integer as minutes_allowable,
    d.minutes_above_allowable::integer as minutes_above_allowable,
    d.minutes_below_allowable::integer as minutes_below_allowable,
    d.minutes_above_recommended::integer as minutes_above_recommended,
    round(100.0 * d.minutes_recommended / nullif(d.measured_minutes, 0), 2) as pct_recommended,
    round(100.0 * d.minutes_allowable / nullif(d.measured_minutes, 0), 2) as pct_allowable,
    round(d.min_inlet_c::numeric, 2) as min_inlet_c,
    round(d.max_inlet_c::numeric, 2) as max_inlet_c,
    round(d.mean_inlet_c::numeric, 2) as mean_inlet_c,
    d.bad_readings::integer as bad_readings,
    d.recommended_min_c,
    d.recommended_max_c,
    d.allowable_min_c,
    d.allowable_max_c,
    d.measured_minutes > 0 and d.minutes_allowable = d.measured_minutes as is_compliant_allowable
from daily as d
inner join inlet_points as p on d.point_id = p.point_id
