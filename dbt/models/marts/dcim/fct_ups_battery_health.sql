{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('local_date') }}",
        indexes=[{'columns': ['site_id', 'block_id', 'ups', 'local_date'], 'unique': true}],
    )
}}
{#- UPS battery health per UPS and site-local day from the 1-minute roll-ups: time on battery and
    discharge events (0 → 1 on `-on-batt`), and the float-state figures that reveal an ageing
    string — lowest state of charge and runtime while on mains, highest UPS temperature — against
    the design thresholds (runtime < 15 / 5 min, charge < 80 / 50 %, temperature > 35 / 45 °C; domain
    §2.10, seeds/business/business_constants.csv). A discharge during a mains failure is expected
    and does not by itself mark the battery as unhealthy; float-state values do. -#}

with ups_points as (
    select
        point_id,
        site_id,
        block_id,
        equipment_tag as ups,
        case
            when tag ~ '-batt-pct$' then 'soc_pct'
            when tag ~ '-runtime$' then 'runtime_min'
            when tag ~ '-T-int$' then 'temp_c'
            when tag ~ '-on-batt$' then 'on_battery'
            when tag ~ '-batt-V$' then 'batt_v'
            when tag ~ '-load$' then 'load_pct'
        end as measure
    from {{ ref('dim_points') }}
    where equipment_type = 'ups'
),

minutes as (
    select
        p.site_id,
        p.block_id,
        p.ups,
        r.bucket,
        r.local_date,
        max(r.avg_value) filter (where p.measure = 'soc_pct') as soc_pct,
        max(r.avg_value) filter (where p.measure = 'runtime_min') as runtime_min,
        max(r.max_value) filter (where p.measure = 'temp_c') as temp_c,
        max(r.max_value) filter (where p.measure = 'on_battery') as on_battery,
        max(r.avg_value) filter (where p.measure = 'batt_v') as batt_v,
        max(r.max_value) filter (where p.measure = 'load_pct') as load_pct
    from {{ ref('fct_rollup_1m') }} as r
    inner join ups_points as p on r.point_id = p.point_id
    where p.measure is not null and r.n > 0 and {{ local_date_in_window('r.local_date') }}
    group by p.site_id, p.block_id, p.ups, r.bucket, r.local_date
),

flagged as (
    select
        minutes.*,
        coalesce(on_battery, 0) >= 1 as is_on_battery,
        coalesce(on_battery, 0) >= 1
        and coalesce(lag(on_battery) over (partition by site_id, block_id, ups order by bucket), 0) < 1
            as starts_discharge
    from minutes
),

daily as (
    select
        site_id,
        block_id,
        ups,
        local_date,
        count(*) as measured_minutes,
        count(*) filter (where is_on_battery) as minutes_on_battery,
        count(*) filter (where starts_discharge) as discharge_events,
        min(soc_pct) filter (where not is_on_battery) as min_soc_float_pct,
        min(runtime_min) filter (where not is_on_battery) as min_runtime_float_min,
        min(soc_pct) as min_soc_pct,
        min(runtime_min) as min_runtime_min,
        max(temp_c) as max_temp_c,
        avg(batt_v) filter (where not is_on_battery) as mean_batt_v_float,
        max(load_pct) as max_load_pct
    from flagged
    group by site_id, block_id, ups, local_date
)

select
    site_id,
    block_id,
    ups,
    local_date,
    measured_minutes::integer as measured_minutes,
    minutes_on_battery::integer as minutes_on_battery,
    discharge_events::integer as discharge_events,
    round(min_soc_float_pct::numeric, 1) as min_soc_float_pct,
    round(min_runtime_float_min::numeric, 1) as min_runtime_float_min,
    round(min_soc_pct::numeric, 1) as min_soc_pct,
    round(min_runtime_min::numeric, 1) as min_runtime_min,
    round(max_temp_c::numeric, 1) as max_temp_c,
    round(mean_batt_v_float::numeric, 1) as mean_batt_v_float,
    round(max_load_pct::numeric, 1) as max_load_pct,
    case
        when min_runtime_float_min < {{ bconst('ups_runtime_critical_min') }}
            or min_soc_float_pct < {{ bconst('ups_soc_critical_pct') }}
            or max_temp_c > {{ bconst('ups_temp_critical_c') }} then 'critical'
        when min_runtime_float_min < {{ bconst('ups_runtime_warning_min') }}
            or min_soc_float_pct < {{ bconst('ups_soc_warning_pct') }}
            or max_temp_c > {{ bconst('ups_temp_warning_c') }} then 'warning'
        when min_runtime_float_min is null and min_soc_float_pct is null then 'unknown'
        else 'ok'
    end as health_status,
    concat_ws(
        '; ',
        case when min_runtime_float_min < {{ bconst('ups_runtime_warning_min') }}
                then 'float runtime ' || round(min_runtime_float_min::numeric, 1) || ' min'
        end,
        case when min_soc_float_pct < {{ bconst('ups_soc_warning_pct') }}
                then 'float charge ' || round(min_soc_float_pct::numeric, 1) || ' %'
        end,
        case when max_temp_c > {{ bconst('ups_temp_warning_c') }}
                then 'temperature ' || round(max_temp_c::numeric, 1) || ' °C'
        end,
        case
            when
                discharge_events > 0
                then discharge_events || ' discharge(s), ' || minutes_on_battery || ' min on battery'
        end
    ) as health_notes
from daily
