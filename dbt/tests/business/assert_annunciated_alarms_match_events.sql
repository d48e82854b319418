-- Every annunciated activation is counted in exactly one 10-minute period of its site (none lost
-- to the spine's edges or double-counted by the joins).
with counted as (
    select
        site_id,
        sum(alarms_raised) as alarms
    from {{ ref('fct_alarm_kpis_10m') }}
    group by site_id
),

activations as (
    select
        site_id,
        count(*) as activations
    from {{ ref('int_alarm_activations') }}
    where is_annunciated
    group by site_id
)

select
    a.site_id,
    a.activations,
    c.alarms as counted
from activations as a
left join counted as c on a.site_id = c.site_id
where a.activations <> coalesce(c.alarms, -1)
