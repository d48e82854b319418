{#- The ten most frequent alarm sources (block + tag) per operator area (site) and site-local
    month: ISA-18.2's first lever for reducing alarm load. Ranked by annunciated activations; ties
    broken by block and tag so the list is stable across rebuilds. -#}

with activations as (
    select
        a.*,
        date_trunc('month', a.raised_at at time zone s.timezone)::date as month_start
    from {{ ref('int_alarm_activations') }} as a
    inner join {{ ref('stg_ref__sites') }} as s on a.site_id = s.site_id
    where a.is_annunciated
),

per_source as (
    select
        site_id,
        month_start,
        block_id,
        tag,
        count(*) as activations,
        count(distinct alarm_id) as instances,
        count(*) filter (where is_chattering) as chattering_activations,
        count(*) filter (where is_fleeting) as fleeting_activations,
        min(peak_priority) as peak_priority,
        avg(active_s) as avg_active_s,
        sum(active_s) as total_active_s,
        max(raised_at) as last_raised_at
    from activations
    group by site_id, month_start, block_id, tag
),

ranked as (
    select
        per_source.*,
        row_number() over (
            partition by site_id, month_start order by activations desc, block_id asc, tag asc
        ) as rank_in_month,
        sum(activations) over (partition by site_id, month_start) as area_activations
    from per_source
)

select
    site_id,
    month_start,
    rank_in_month::integer as rank_in_month,
    block_id,
    tag,
    activations::integer as activations,
    instances::integer as instances,
    area_activations::integer as area_activations,
    round(100.0 * activations / area_activations, 2) as pct_of_area_load,
    round(100.0 * sum(activations) over (
        partition by site_id, month_start order by rank_in_month rows unbounded preceding
    ) / area_activations, 2) as cumulative_pct,
    chattering_activations::integer as chattering_activations,
    fleeting_activations::integer as fleeting_activations,
    peak_priority,
    round(avg_active_s::numeric, 1) as avg_active_s,
    round(total_active_s::numeric, 1) as total_active_s,
    last_raised_at
from ranked
where rank_in_month <= 10
