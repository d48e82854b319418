{{ config(schema='intermediate', materialized='table') }}
{#- Service-affecting intervals per block (domain §7.5): the time each alarm activation spent at P0
    or P1 (from the raise or the escalation to P0/P1 until return to normal), merged across alarms
    so overlapping alarms are counted once — the reference double-counted them. An activation still
    active has ended_at = 'infinity'; the monthly models clip it to the month (open alarms run to
    month end). -#}

with high as (
    select
        site_id,
        block_id,
        high_priority_at as started_at,
        coalesce(ended_at, 'infinity'::timestamptz) as ended_at,
        alarm_id
    from {{ ref('int_alarm_activations') }}
    where high_priority_at is not null
        and is_annunciated
        and coalesce(ended_at, 'infinity'::timestamptz) > high_priority_at
),

flagged as (
    select
        high.*,
        -- a new island starts when this interval begins after every earlier one has ended
        case
            when started_at > max(ended_at)
                    over (
                        partition by site_id, block_id order by started_at, ended_at
                        rows between unbounded preceding and 1 preceding
                    )
                then 1
            when row_number() over (partition by site_id, block_id order by started_at, ended_at) = 1 then 1
            else 0
        end as is_new_island
    from high
),

islands as (
    select
        flagged.*,
        sum(is_new_island) over (
            partition by site_id, block_id order by started_at, ended_at rows unbounded preceding
        ) as island_no
    from flagged
)

select
    site_id,
    block_id,
    site_id
    || '/'
    || block_id
    || '#'
    || to_char(min(started_at) at time zone 'UTC', 'YYYYMMDD"T"HH24MISS') as outage_id,
    min(started_at) as started_at,
    max(ended_at) as ended_at,
    max(ended_at) = 'infinity'::timestamptz as is_open,
    count(*)::integer as alarms,
    string_agg(alarm_id, ',' order by started_at) as alarm_ids
from islands
group by site_id, block_id, island_no
