{#- Block uptime per site-local month (DCIM view of availability): unplanned downtime after the
    SLA exclusions, failure count, MTTR and MTBF. A month exists for a block when the platform holds
    telemetry for it (any daily roll-up) or an outage touches it. Total minutes follow the SLA rule
    (days × 1,440, domain §7.5); `observed_days` says how much of the month had data, so a partial
    month is visible rather than silently counted as fully up. -#}

with blocks as (
    select * from {{ ref('dim_blocks') }}
),

observed as (
    select
        site_id,
        block_id,
        date_trunc('month', local_date)::date as month_start,
        count(distinct local_date) as observed_days
    from {{ ref('fct_rollup_1d') }}
    where n > 0
    group by site_id, block_id, date_trunc('month', local_date)::date
),

outages as (
    select * from {{ ref('int_block_outage_intervals') }}
),

exclusions as (
    select * from {{ ref('int_sla_exclusion_intervals') }}
),

outage_months as (
    select distinct
        o.site_id,
        o.block_id,
        date_trunc('month', o.started_at at time zone b.timezone)::date as month_start
    from outages as o
    inner join blocks as b on o.site_id = b.site_id and o.block_id = b.block_id
),

months as (
    select
        m.site_id,
        m.block_id,
        m.month_start,
        b.timezone,
        b.availability_class,
        b.it_capacity_kw,
        coalesce(ob.observed_days, 0)::integer as observed_days,
        extract(day from (m.month_start + interval '1 month' - interval '1 day'))::integer as days_in_month,
        m.month_start::timestamp at time zone b.timezone as month_start_at,
        (m.month_start + interval '1 month')::timestamp at time zone b.timezone as month_end_at
    from (
        select
            site_id,
            block_id,
            month_start
        from observed
        union
        select
            site_id,
            block_id,
            month_start
        from outage_months
    ) as m
    inner join blocks as b on m.site_id = b.site_id and m.block_id = b.block_id
    left join observed as ob
        on m.site_id = ob.site_id and m.block_id = ob.block_id and m.month_start = ob.month_start
),

outage_in_month as (
    select
        m.site_id,
        m.block_id,
        m.month_start,
        o.outage_id,
        o.started_at,
        greatest(o.started_at, m.month_start_at) as clip_start,
        least(o.ended_at, m.month_end_at) as clip_end
    from months as m
    inner join outages as o
        on m.site_id = o.site_id and m.block_id = o.block_id
            and m.month_end_at > o.started_at and m.month_start_at < o.ended_at
),

outage_minutes as (
    select
        oim.site_id,
        oim.block_id,
        oim.month_start,
        oim.outage_id,
        oim.started_at,
        extract(epoch from (oim.clip_end - oim.clip_start)) / 60.0 as downtime_minutes,
        -- (least/greatest ignore NULLs in PostgreSQL, so the unmatched left-join row is zeroed explicitly)
        coalesce(sum(
            case
                when e.started_at is null then 0
                else extract(epoch from (least(oim.clip_end, e.ended_at) - greatest(oim.clip_start, e.started_at)))
            end
        ) / 60.0, 0) as excluded_minutes
    from outage_in_month as oim
    left join exclusions as e
        on oim.site_id = e.site_id and oim.block_id = e.block_id
            and oim.clip_end > e.started_at and oim.clip_start < e.ended_at
    group by oim.site_id, oim.block_id, oim.month_start, oim.outage_id, oim.started_at, oim.clip_start, oim.clip_end
),

per_month as (
    select
        om.site_id,
        om.block_id,
        om.month_start,
        sum(om.downtime_minutes) as downtime_minutes,
        sum(om.excluded_minutes) as excluded_minutes,
        -- failures: outages that start in the month and are not wholly excluded
        count(*) filter (
            where om.started_at >= m.month_start_at and om.downtime_minutes - om.excluded_minutes > 0
        ) as failures,
        count(*) as outages_touching_month
    from outage_minutes as om
    inner join months as m
        on om.site_id = m.site_id and om.block_id = m.block_id and om.month_start = m.month_start
    group by om.site_id, om.block_id, om.month_start
),

final as (
    select
        m.site_id,
        m.block_id,
        m.month_start,
        to_char(m.month_start, 'YYYY-MM') as year_month,
        m.availability_class,
        m.it_capacity_kw,
        m.days_in_month,
        m.observed_days,
        m.observed_days >= m.days_in_month as is_complete_month,
        m.days_in_month * 1440 as total_minutes,
        round(coalesce(p.downtime_minutes, 0)::numeric, 4) as downtime_minutes,
        round(coalesce(p.excluded_minutes, 0)::numeric, 4) as excluded_minutes,
        round((coalesce(p.downtime_minutes, 0) - coalesce(p.excluded_minutes, 0))::numeric, 4)
            as unplanned_downtime_minutes,
        coalesce(p.failures, 0)::integer as failures,
        coalesce(p.outages_touching_month, 0)::integer as outages_touching_month
    from months as m
    left join per_month as p
        on m.site_id = p.site_id and m.block_id = p.block_id and m.month_start = p.month_start
)

select
    final.*,
    round((total_minutes - unplanned_downtime_minutes) / total_minutes * 100, 4) as uptime_pct,
    c.target_pct,
    round((total_minutes - unplanned_downtime_minutes) / total_minutes * 100, 4) >= c.target_pct as meets_target,
    -- MTTR: mean unplanned minutes per failure; MTBF: mean up hours between failures (NULL: none)
    round(unplanned_downtime_minutes / nullif(failures, 0), 2) as mttr_minutes,
    round((total_minutes - unplanned_downtime_minutes) / 60.0 / nullif(failures, 0), 2) as mtbf_hours
from final
left join {{ ref('sla_availability_classes') }} as c on final.availability_class = c.availability_class
