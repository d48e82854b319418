{{ config(schema='intermediate', materialized='table') }}
{#- Valid SLA exclusion windows per block (domain §7.5): planned maintenance with notice sent at
    least sla_maintenance_notice_h (48 h) before it starts, and force majeure events. A window
    without block applies to every block of the site. Overlapping windows are merged so an outage
    minute is excluded at most once. Invalid windows (late notice) are dropped here and listed by
    fct_sla_monthly's `invalid_exclusion_windows`. -#}

with windows as (
    select * from {{ ref('sla_exclusion_windows') }}
),

blocks as (
    select
        site_id,
        block_id
    from {{ ref('dim_blocks') }}
),

valid as (
    select
        b.site_id,
        b.block_id,
        w.window_id,
        w.starts_at as started_at,
        w.ends_at as ended_at
    from windows as w
    inner join blocks as b
        on w.site_id = b.site_id
            and (w.block_id is null or w.block_id = '' or w.block_id = b.block_id)
    where w.ends_at > w.starts_at
        and (
            w.exclusion_kind = 'force_majeure'
            or (
                w.exclusion_kind = 'planned_maintenance'
                and w.notice_sent_at <= w.starts_at
                - make_interval(hours => {{ bconst('sla_maintenance_notice_h') }}::integer)
            )
        )
),

flagged as (
    select
        valid.*,
        case
            when row_number() over (partition by site_id, block_id order by started_at, ended_at) = 1 then 1
            when started_at > max(ended_at)
                    over (
                        partition by site_id, block_id order by started_at, ended_at
                        rows between unbounded preceding and 1 preceding
                    )
                then 1
            else 0
        end as is_new_island
    from valid
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
    min(started_at) as started_at,
    max(ended_at) as ended_at,
    string_agg(window_id, ',' order by started_at) as window_ids
from islands
group by site_id, block_id, island_no
