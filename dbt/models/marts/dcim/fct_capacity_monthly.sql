{#- Capacity per block and site-local month: IT capacity, sold (committed kW of the colocation
    contracts in force), available, sold utilisation with the sales thresholds (deal below 80 %,
    alert at ≥ 90 %, domain §7.9), and the measured IT load from the hourly roll-ups of the PDU power
    points (billing_role it_power_kw): mean and peak hourly kW, load factor, headroom, and the
    highest hourly rack load against the design kW per rack. -#}

with blocks as (
    select * from {{ ref('dim_blocks') }}
),

pdu_hours as (
    select
        r.site_id,
        r.block_id,
        r.bucket,
        min(r.local_date) as local_date,
        sum(r.avg_value) as it_kw
    from {{ ref('fct_rollup_1h') }} as r
    inner join {{ ref('dim_points') }} as p on r.point_id = p.point_id
    where p.billing_role = 'it_power_kw' and r.n > 0
    group by r.site_id, r.block_id, r.bucket
),

rack_hours as (
    select
        r.site_id,
        r.block_id,
        date_trunc('month', r.local_date)::date as month_start,
        max(r.avg_value) as peak_rack_kw_1h,
        (array_agg(p.equipment_tag order by r.avg_value desc))[1] as peak_rack
    from {{ ref('fct_rollup_1h') }} as r
    inner join {{ ref('dim_points') }} as p on r.point_id = p.point_id
    where p.billing_role = 'rack_power_kw' and r.n > 0
    group by r.site_id, r.block_id, date_trunc('month', r.local_date)::date
),

load as (
    select
        site_id,
        block_id,
        date_trunc('month', local_date)::date as month_start,
        count(*) as measured_hours,
        avg(it_kw) as mean_it_kw,
        max(it_kw) as peak_it_kw_1h
    from pdu_hours
    group by site_id, block_id, date_trunc('month', local_date)::date
),

contracts as (
    select * from {{ ref('stg_ref__contracts') }}
    where contract_kind = 'colo_msa' and is_active and block_id is not null
),

sold as (
    select
        l.site_id,
        l.block_id,
        l.month_start,
        coalesce(sum(c.committed_kw), 0) as sold_kw,
        count(c.contract_ref) as contracts
    from load as l
    left join contracts as c
        on l.site_id = c.site_id and l.block_id = c.block_id
            and c.start_date <= (l.month_start + interval '1 month' - interval '1 day')::date
            and coalesce(c.end_date, date '9999-12-31') >= l.month_start
    group by l.site_id, l.block_id, l.month_start
)

select
    l.site_id,
    l.block_id,
    l.month_start,
    to_char(l.month_start, 'YYYY-MM') as year_month,
    b.it_capacity_kw,
    b.rack_count,
    round((b.it_capacity_kw / nullif(b.rack_count, 0))::numeric, 1) as design_kw_per_rack,
    s.sold_kw,
    s.contracts::integer as contracts,
    b.it_capacity_kw - s.sold_kw as available_kw,
    round((100 * s.sold_kw / nullif(b.it_capacity_kw, 0))::numeric, 1) as sold_utilisation_pct,
    case
        when 100 * s.sold_kw / nullif(b.it_capacity_kw, 0) >= {{ bconst('capacity_alert_pct') }} then 'sold_out_alert'
        when
            100 * s.sold_kw / nullif(b.it_capacity_kw, 0) < {{ bconst('capacity_deal_below_pct') }}
            then 'open_for_deals'
        else 'limited'
    end as capacity_status,
    l.measured_hours::integer as measured_hours,
    round(l.mean_it_kw::numeric, 2) as mean_it_kw,
    round(l.peak_it_kw_1h::numeric, 2) as peak_it_kw_1h,
    round((100 * l.mean_it_kw / nullif(b.it_capacity_kw, 0))::numeric, 2) as load_factor_pct,
    round((b.it_capacity_kw - l.peak_it_kw_1h)::numeric, 2) as headroom_kw,
    round(r.peak_rack_kw_1h::numeric, 2) as peak_rack_kw_1h,
    r.peak_rack,
    r.peak_rack_kw_1h > b.it_capacity_kw / nullif(b.rack_count, 0) as rack_over_design
from load as l
inner join blocks as b on l.site_id = b.site_id and l.block_id = b.block_id
inner join sold as s on l.site_id = s.site_id and l.block_id = s.block_id and l.month_start = s.month_start
left join rack_hours as r on l.site_id = r.site_id and l.block_id = r.block_id and l.month_start = r.month_start
