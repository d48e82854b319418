{{ config(schema='intermediate', materialized='table') }}
{#- One row per activation of an alarm instance: an activation start and what follows it up to the
    next start of the same alarm_id. A start is a RAISED, or an ESCALATED right after a CLEARED: the
    engine (mcs.alarms.state_machine.apply_condition) re-activates an instance that returned to normal
    before its return was acknowledged, writing RAISED, or ESCALATED when the condition comes back in a
    more severe band. ISA-18.2 counts every annunciation, so the KPIs count activations, not instances.

    Why the flags are computed here once: chattering, fleeting, annunciation and the P0/P1 window are
    used by the KPI tables, the bad-actor list, the episodes and the SLA engine, and must agree. -#}

with events as (
    select * from {{ ref('stg_ops__alarm_events') }}
),

lifecycle as (
    select
        event_id,
        lag(event_type) over (partition by alarm_id order by event_at, event_id) as previous_lifecycle_event
    from events
    where event_type in ('RAISED', 'ESCALATED', 'CLEARED')
),

flagged_starts as (
    select
        events.*,
        events.event_type = 'RAISED'
        or (events.event_type = 'ESCALATED' and lifecycle.previous_lifecycle_event = 'CLEARED') as is_start
    from events
    left join lifecycle on events.event_id = lifecycle.event_id
),

numbered as (
    select
        flagged_starts.*,
        -- activation number: starts so far for this alarm (event_id breaks ties in one instant)
        sum(case when is_start then 1 else 0 end) over (
            partition by alarm_id order by event_at, event_id rows unbounded preceding
        ) as activation_no,
        -- operator/design removal state in force at this instant (peers at the same ts included, so a
        -- RAISED written together with SUPPRESSED counts as not annunciated)
        sum(case event_type when 'SUPPRESSED' then 1 when 'UNSUPPRESSED' then -1 else 0 end) over (
            partition by alarm_id order by event_at range between unbounded preceding and current row
        ) as suppressed_level,
        sum(case event_type when 'SHELVED' then 1 when 'UNSHELVED' then -1 else 0 end) over (
            partition by alarm_id order by event_at range between unbounded preceding and current row
        ) as shelved_level,
        sum(case event_type when 'OUT_OF_SERVICE' then 1 when 'RETURNED_TO_SERVICE' then -1 else 0 end) over (
            partition by alarm_id order by event_at range between unbounded preceding and current row
        ) as oos_level
    from flagged_starts
),

activations as (
    select
        alarm_id,
        activation_no,
        min(site_id) as site_id,
        min(block_id) as block_id,
        min(tag) as tag,
        min(event_at) filter (where is_start) as raised_at,
        (array_agg(priority order by event_at, event_id) filter (where is_start))[1] as priority_at_raise,
        -- 'P0' < 'P1' < … as text: the minimum is the most severe band reached
        min(priority) filter (where event_type in ('RAISED', 'ESCALATED')) as peak_priority,
        min(event_at) filter (
            where event_type in ('RAISED', 'ESCALATED') and priority in ('P0', 'P1')
        ) as high_priority_at,
        count(*) filter (where event_type = 'ESCALATED' and not is_start) as escalations,
        min(event_at) filter (where event_type = 'ACKED') as acked_at,
        min(event_at) filter (where event_type = 'CLEARED') as returned_at,
        min(event_at) filter (where event_type = 'CLOSED') as closed_at,
        bool_or(is_start and suppressed_level <= 0 and shelved_level <= 0 and oos_level <= 0) as is_annunciated,
        (array_agg(event_source order by event_at, event_id) filter (where is_start))[1] as event_source
    from numbered
    where activation_no > 0
    group by alarm_id, activation_no
),

ended as (
    select
        activations.*,
        lead(raised_at) over (partition by alarm_id order by activation_no) as next_raised_at
    from activations
),

timed as (
    select
        *,
        -- return to normal ends the activation; an instance closed without a CLEARED ends at CLOSED;
        -- a re-activation ends the previous one at the latest (both lie before the next RAISED by
        -- construction); NULL = still active
        coalesce(returned_at, closed_at, next_raised_at) as ended_at
    from ended
),

window_length as (
    select make_interval(secs => {{ bconst('isa_chattering_window_s') }}::double precision) as w
),

-- activations of the same source (block + tag) in the window ending at each activation
chatter as (
    select
        a.alarm_id,
        a.activation_no,
        count(*) as raises_in_window_ending_here
    from timed as a
    cross join window_length as wl
    inner join timed as b
        on
            a.site_id = b.site_id
            and a.block_id = b.block_id
            and a.tag = b.tag
            and b.raised_at between a.raised_at - wl.w and a.raised_at
    group by a.alarm_id, a.activation_no
),

-- an activation chatters when it lies in any window of isa_chattering_window_s holding at least
-- isa_chattering_raises activations of the same source, i.e. when a window that reached the count
-- closes at it or up to one window length after it
chatter_flag as (
    select
        t.*,
        exists(
            select 1
            from timed as later
            inner join chatter as c on later.alarm_id = c.alarm_id and later.activation_no = c.activation_no
            where
                later.site_id = t.site_id
                and later.block_id = t.block_id
                and later.tag = t.tag
                and later.raised_at between t.raised_at and t.raised_at + wl.w
                and c.raises_in_window_ending_here >= {{ bconst('isa_chattering_raises') }}
        ) as is_chattering
    from timed as t
    cross join window_length as wl
)

select
    alarm_id || '#' || activation_no as activation_id,
    alarm_id,
    activation_no::integer as activation_no,
    site_id,
    block_id,
    tag,
    raised_at,
    priority_at_raise,
    peak_priority,
    high_priority_at,
    escalations::integer as escalations,
    acked_at,
    returned_at,
    closed_at,
    ended_at,
    extract(epoch from (ended_at - raised_at))::double precision as active_s,
    coalesce(
        ended_at - raised_at < make_interval(secs => {{ bconst('isa_fleeting_max_s') }}::double precision), false
    ) as is_fleeting,
    is_chattering,
    is_annunciated,
    event_source
from chatter_flag
where raised_at is not null
