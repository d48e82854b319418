{#- ISA-18.2 alarm-system performance per operator area (= site) and 10-minute period, the unit of
    the standard's flood measure. Every period of every site-local day from the first to the last
    alarm event is present, including quiet ones: "% of periods in flood" needs the quiet periods in
    its denominator. Counts are annunciated activations (not suppressed, shelved or out of service
    when raised); `alarms_raised_all` adds the hidden ones. The hourly and daily KPI tables are sums
    of these rows, so the three grains always agree. -#}

with sites as (
    select
        site_id,
        timezone
    from {{ ref('stg_ref__sites') }}
),

activations as (
    select * from {{ ref('int_alarm_activations') }}
),

events as (
    select * from {{ ref('stg_ops__alarm_events') }}
),

bounds as (
    select
        e.site_id,
        s.timezone,
        min((e.event_at at time zone s.timezone)::date) as first_date,
        max((e.event_at at time zone s.timezone)::date) as last_date
    from events as e
    inner join sites as s on e.site_id = s.site_id
    group by e.site_id, s.timezone
),

spine as (
    select
        b.site_id,
        b.timezone,
        g.bucket_start,
        g.bucket_start + interval '10 minutes' as bucket_end
    from bounds as b
    cross join lateral generate_series(
        b.first_date::timestamp at time zone b.timezone,
        (b.last_date + 1)::timestamp at time zone b.timezone - interval '10 minutes',
        interval '10 minutes'
    ) as g (bucket_start)
),

raised as (
    select
        site_id,
        to_timestamp(floor(extract(epoch from raised_at) / 600) * 600) as bucket_start,
        count(*) filter (where is_annunciated) as alarms_raised,
        count(*) as alarms_raised_all,
        count(*) filter (where is_annunciated and priority_at_raise = 'P0') as p0_alarms,
        count(*) filter (where is_annunciated and priority_at_raise = 'P1') as p1_alarms,
        count(*) filter (where is_annunciated and priority_at_raise = 'P2') as p2_alarms,
        count(*) filter (where is_annunciated and priority_at_raise = 'P3') as p3_alarms,
        count(*) filter (where is_annunciated and is_chattering) as chattering_alarms,
        count(*) filter (where is_annunciated and is_fleeting) as fleeting_alarms
    from activations
    group by site_id, to_timestamp(floor(extract(epoch from raised_at) / 600) * 600)
),

event_counts as (
    select
        site_id,
        to_timestamp(floor(extract(epoch from event_at) / 600) * 600) as bucket_start,
        count(*) filter (where event_type = 'ESCALATED') as escalations,
        count(*) filter (where event_type = 'ACKED') as acks,
        count(*) filter (where event_type = 'SHELVED') as shelve_actions,
        count(*) filter (where event_type = 'SUPPRESSED') as suppressions
    from events
    group by site_id, to_timestamp(floor(extract(epoch from event_at) / 600) * 600)
),

standing as (
    select
        sp.site_id,
        sp.bucket_start,
        count(*) as standing_at_end,
        count(*) filter (
            where a.raised_at <= sp.bucket_end - make_interval(hours => {{ bconst('isa_stale_after_h') }}::integer)
        ) as stale_at_end
    from spine as sp
    inner join activations as a
        on sp.site_id = a.site_id
            and a.is_annunciated
            and sp.bucket_end > a.raised_at
            and coalesce(a.ended_at, 'infinity'::timestamptz) > sp.bucket_end
    group by sp.site_id, sp.bucket_start
)

select
    sp.site_id,
    sp.bucket_start,
    sp.bucket_end,
    (sp.bucket_start at time zone sp.timezone)::date as local_date,
    -- hour in UTC terms (explicit, not the session zone): unambiguous across DST fall-back
    date_trunc('hour', sp.bucket_start at time zone 'UTC') at time zone 'UTC' as hour_start,
    coalesce(r.alarms_raised, 0)::integer as alarms_raised,
    coalesce(r.alarms_raised_all, 0)::integer as alarms_raised_all,
    coalesce(r.p0_alarms, 0)::integer as p0_alarms,
    coalesce(r.p1_alarms, 0)::integer as p1_alarms,
    coalesce(r.p2_alarms, 0)::integer as p2_alarms,
    coalesce(r.p3_alarms, 0)::integer as p3_alarms,
    coalesce(ec.escalations, 0)::integer as escalations,
    coalesce(ec.acks, 0)::integer as acks,
    coalesce(ec.shelve_actions, 0)::integer as shelve_actions,
    coalesce(ec.suppressions, 0)::integer as suppressions,
    coalesce(r.chattering_alarms, 0)::integer as chattering_alarms,
    coalesce(r.fleeting_alarms, 0)::integer as fleeting_alarms,
    coalesce(st.standing_at_end, 0)::integer as standing_at_end,
    coalesce(st.stale_at_end, 0)::integer as stale_at_end,
    {{ bconst('isa_operator_positions') }} as operator_positions,
    round(coalesce(r.alarms_raised, 0) / {{ bconst('isa_operator_positions') }}, 4) as alarms_per_operator,
    {{ bconst('isa_flood_alarms_per_10min') }} as isa_flood_threshold,
    coalesce(r.alarms_raised, 0) / {{ bconst('isa_operator_positions') }}
    > {{ bconst('isa_flood_alarms_per_10min') }} as is_flood
from spine as sp
left join raised as r on sp.site_id = r.site_id and sp.bucket_start = r.bucket_start
left join event_counts as ec on sp.site_id = ec.site_id and sp.bucket_start = ec.bucket_start
left join standing as st on sp.site_id = st.site_id and sp.bucket_start = st.bucket_start
