{#- ISA-18.2 hourly alarm rate per operator position against the standard's targets (≈ 6/h
    acceptable, ≈ 12/h maximum manageable), summed from the 10-minute periods so grains agree. -#}

with periods as (
    select * from {{ ref('fct_alarm_kpis_10m') }}
),

hourly as (
    select
        site_id,
        hour_start,
        min(local_date) as local_date,
        count(*) as periods,
        sum(alarms_raised) as alarms_raised,
        sum(alarms_raised_all) as alarms_raised_all,
        sum(p0_alarms) as p0_alarms,
        sum(p1_alarms) as p1_alarms,
        sum(p2_alarms) as p2_alarms,
        sum(p3_alarms) as p3_alarms,
        sum(escalations) as escalations,
        sum(acks) as acks,
        sum(chattering_alarms) as chattering_alarms,
        sum(fleeting_alarms) as fleeting_alarms,
        count(*) filter (where is_flood) as flood_periods,
        max(standing_at_end) as max_standing,
        max(stale_at_end) as max_stale,
        (array_agg(stale_at_end order by bucket_start desc))[1] as stale_at_end,
        min(operator_positions) as operator_positions
    from periods
    group by site_id, hour_start
)

select
    site_id,
    hour_start,
    local_date,
    periods::integer as periods,
    alarms_raised::integer as alarms_raised,
    alarms_raised_all::integer as alarms_raised_all,
    p0_alarms::integer as p0_alarms,
    p1_alarms::integer as p1_alarms,
    p2_alarms::integer as p2_alarms,
    p3_alarms::integer as p3_alarms,
    escalations::integer as escalations,
    acks::integer as acks,
    chattering_alarms::integer as chattering_alarms,
    fleeting_alarms::integer as fleeting_alarms,
    flood_periods::integer as flood_periods,
    (flood_periods * 10)::integer as flood_minutes,
    max_standing::integer as max_standing,
    max_stale::integer as max_stale,
    stale_at_end::integer as stale_at_end,
    operator_positions,
    round(alarms_raised / operator_positions, 4) as alarms_per_operator,
    {{ bconst('isa_alarms_per_operator_hour_acceptable') }} as target_per_operator_hour,
    {{ bconst('isa_alarms_per_operator_hour_max') }} as max_manageable_per_operator_hour,
    case
        when alarms_raised / operator_positions <= {{ bconst('isa_alarms_per_operator_hour_acceptable') }}
            then 'acceptable'
        when alarms_raised / operator_positions <= {{ bconst('isa_alarms_per_operator_hour_max') }}
            then 'manageable'
        else 'overloaded'
    end as rate_status
from hourly
