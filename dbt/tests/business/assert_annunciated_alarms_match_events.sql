-- Every annunciated activation is counted in exactly one 10-minute period of its site (none lost
-- to the spine's edges or double-counted by the joins).
select a.site_id, count(*) as activations, max(k.alarms) as counted
from {{ ref('int_alarm_activations') }} as a
left join (
    select site_id, sum(alarms_raised) as alarms from {{ ref('fct_alarm_kpis_10m') }} group by site_id
) as k on k.site_id = a.site_id
where a.is_annunciated
group by a.site_id
having count(*) <> coalesce(max(k.alarms), -1)
