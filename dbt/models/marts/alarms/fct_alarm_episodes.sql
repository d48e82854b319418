{#- One row per alarm instance (alarm_id): raise → ack → return to normal → close, with the
    durations operators and ISA-18.2 reviews ask about. Built from the append-only ops.alarm_events
    (the truth about what happened and when); ops.alarms only adds descriptive attributes (kind,
    subsystem, description) that the event log does not repeat. -#}

with events as (
    select * from {{ ref('stg_ops__alarm_events') }}
),

activations as (
    select * from {{ ref('int_alarm_activations') }}
),

alarms as (
    select * from {{ ref('stg_ops__alarms') }}
),

targets as (
    select * from {{ ref('alarm_response_targets') }}
),

sites as (
    select
        site_id,
        timezone
    from {{ ref('stg_ref__sites') }}
),

per_alarm_events as (
    select
        alarm_id,
        (array_agg(actor order by event_at, event_id) filter (where event_type = 'ACKED'))[1] as acked_by,
        min(event_at) filter (where event_type = 'ACKED') as first_acked_at,
        min(event_at) filter (where event_type = 'CLEARED') as first_returned_at,
        max(event_at) filter (where event_type = 'CLEARED') as last_returned_at,
        min(event_at) filter (where event_type = 'CLOSED') as closed_at,
        count(*) filter (where event_type = 'SHELVED') as shelve_count,
        count(*) filter (where event_type = 'SUPPRESSED') as suppress_count,
        count(*) filter (where event_type = 'OUT_OF_SERVICE') as out_of_service_count,
        count(*) filter (where event_type = 'COMMENT') as comment_count,
        count(*) filter (where event_type = 'CHATTER') > 0 as engine_flagged_chatter,
        count(*) as event_count
    from events
    group by alarm_id
),

per_alarm_activations as (
    select
        alarm_id,
        min(site_id) as site_id,
        min(block_id) as block_id,
        min(tag) as tag,
        min(raised_at) as raised_at,
        (array_agg(priority_at_raise order by activation_no))[1] as priority_at_raise,
        min(peak_priority) as peak_priority,
        min(high_priority_at) as high_priority_at,
        count(*) as activations,
        sum(escalations) as escalations,
        sum(active_s) as active_s,
        bool_or(ended_at is null) as is_active,
        bool_or(is_chattering) as is_chattering,
        bool_or(is_fleeting) as is_fleeting,
        bool_or(is_annunciated) as is_annunciated,
        (array_agg(event_source order by activation_no))[1] as event_source
    from activations
    group by alarm_id
)

select
    a.alarm_id,
    a.site_id,
    a.block_id,
    a.tag,
    al.alarm_kind,
    al.subsystem,
    al.point_id,
    al.description,
    a.event_source,
    a.raised_at,
    (a.raised_at at time zone s.timezone)::date as raised_local_date,
    a.priority_at_raise,
    a.peak_priority,
    t.isa_band,
    a.high_priority_at,
    a.activations::integer as activations,
    a.escalations::integer as escalations,
    e.first_acked_at as acked_at,
    e.acked_by,
    e.first_returned_at as returned_at,
    e.last_returned_at,
    e.closed_at,
    extract(epoch from (e.first_acked_at - a.raised_at))::double precision as time_to_ack_s,
    extract(epoch from (e.first_returned_at - a.raised_at))::double precision as time_to_return_s,
    a.active_s::double precision as active_s,
    extract(epoch from (e.closed_at - a.raised_at))::double precision as time_to_close_s,
    t.ack_target_s,
    case
        when e.first_acked_at is null then null
        else extract(epoch from (e.first_acked_at - a.raised_at)) <= t.ack_target_s
    end as acked_on_time,
    a.is_active,
    e.closed_at is null as is_open,
    a.is_annunciated,
    a.is_chattering,
    a.is_fleeting,
    e.engine_flagged_chatter,
    e.shelve_count::integer as shelve_count,
    e.suppress_count::integer as suppress_count,
    e.out_of_service_count::integer as out_of_service_count,
    e.comment_count::integer as comment_count,
    e.event_count::integer as event_count
from per_alarm_activations as a
inner join per_alarm_events as e on a.alarm_id = e.alarm_id
left join alarms as al on a.alarm_id = al.alarm_id
left join targets as t on a.priority_at_raise = t.priority
left join sites as s on a.site_id = s.site_id
