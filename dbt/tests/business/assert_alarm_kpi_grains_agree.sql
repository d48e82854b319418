-- The 10-minute, hourly and daily alarm KPI tables must tell the same story: per site, the alarms,
-- flood periods and chattering counts summed over each grain are equal.
with m10 as (
    select
        site_id,
        sum(alarms_raised) as alarms,
        count(*) filter (where is_flood) as floods,
        sum(chattering_alarms) as chattering
    from {{ ref('fct_alarm_kpis_10m') }}
    group by site_id
),

hourly as (
    select
        site_id,
        sum(alarms_raised) as alarms,
        sum(flood_periods) as floods,
        sum(chattering_alarms) as chattering
    from {{ ref('fct_alarm_kpis_hourly') }}
    group by site_id
),

daily as (
    select
        site_id,
        sum(alarms_raised) as alarms,
        sum(flood_periods) as floods,
        sum(chattering_alarms) as chattering
    from {{ ref('fct_alarm_kpis_daily') }}
    group by site_id
)

select
    m10.site_id,
    m10.alarms,
    hourly.alarms as hourly_alarms,
    daily.alarms as daily_alarms
from m10
left join hourly on m10.site_id = hourly.site_id
left join daily on m10.site_id = daily.site_id
where
    m10.alarms is distinct from hourly.alarms
    or m10.alarms is distinct from daily.alarms
    or m10.floods is distinct from hourly.floods
    or m10.floods is distinct from daily.floods
    or m10.chattering is distinct from daily.chattering
