{{ config(schema='intermediate', materialized='table') }}
{#- Per site and site-local month, the figures the lender reports are built from (domain §7.7):
    invoiced revenue by kind and SLA credits (reports.invoice_monthly), host payments
    (reports.heat_credit_monthly), capacity-weighted availability (fct_uptime_monthly), energy,
    heat and CO₂ (fct_esg_monthly), capacity sold, and P0/P1 incidents (fct_alarm_episodes). Sums
    are kept (not only ratios) so the quarterly report can form ratios of sums. -#}

with invoices as (
    select
        site_id,
        month_start,
        max(currency) as currency,
        count(*) as invoices,
        sum(colo_fee_amount) as revenue_colo,
        sum(power_amount + cooling_amount) as revenue_power,
        sum(demand_amount + cross_connect_amount) as revenue_other,
        sum(sla_credit_amount) as sla_credits,
        sum(subtotal_amount) as revenue_net,
        bool_or(needs_review) as invoices_need_review
    from {{ ref('invoice_monthly') }}
    group by site_id, month_start
),

host as (
    select
        site_id,
        month_start,
        sum(host_value_amount) as host_payments
    from {{ ref('heat_credit_monthly') }}
    group by site_id, month_start
),

uptime as (
    select
        site_id,
        month_start,
        sum(total_minutes * it_capacity_kw) as capacity_minutes,
        sum(unplanned_downtime_minutes * it_capacity_kw) as capacity_downtime_minutes,
        sum(unplanned_downtime_minutes) as unplanned_downtime_minutes,
        sum(failures) as outages
    from {{ ref('fct_uptime_monthly') }}
    group by site_id, month_start
),

esg as (
    select * from {{ ref('fct_esg_monthly') }}
),

capacity as (
    select
        b.site_id,
        sum(b.it_capacity_kw) as it_capacity_kw
    from {{ ref('dim_blocks') }} as b
    where b.is_active
    group by b.site_id
),

months as (
    select
        site_id,
        month_start
    from invoices
    union
    select
        site_id,
        month_start
    from esg
    union
    select
        site_id,
        month_start
    from uptime
),

sold as (
    select
        m.site_id,
        m.month_start,
        sum(c.committed_kw) as sold_kw
    from months as m
    inner join {{ ref('stg_ref__contracts') }} as c
        on m.site_id = c.site_id and c.contract_kind = 'colo_msa' and c.is_active
            and c.start_date <= (m.month_start + interval '1 month' - interval '1 day')::date
            and coalesce(c.end_date, date '9999-12-31') >= m.month_start
    group by m.site_id, m.month_start
),

incidents as (
    select
        e.site_id,
        date_trunc('month', e.raised_at at time zone s.timezone)::date as month_start,
        count(*) filter (where e.peak_priority = 'P0') as p0_incidents,
        count(*) filter (where e.peak_priority = 'P1') as p1_incidents
    from {{ ref('fct_alarm_episodes') }} as e
    inner join {{ ref('dim_sites') }} as s on e.site_id = s.site_id
    where e.is_annunciated
    group by e.site_id, date_trunc('month', e.raised_at at time zone s.timezone)::date
)

select
    m.site_id,
    m.month_start,
    i.currency,
    coalesce(i.invoices, 0)::integer as invoices,
    coalesce(i.revenue_colo, 0) as revenue_colo,
    coalesce(i.revenue_power, 0) as revenue_power,
    coalesce(i.revenue_other, 0) as revenue_other,
    coalesce(i.sla_credits, 0) as sla_credits,
    coalesce(i.revenue_net, 0) as revenue_net,
    coalesce(h.host_payments, 0) as host_payments,
    coalesce(i.invoices_need_review, false) as invoices_need_review,
    u.capacity_minutes,
    u.capacity_downtime_minutes,
    coalesce(u.unplanned_downtime_minutes, 0) as unplanned_downtime_minutes,
    coalesce(u.outages, 0)::integer as outages,
    round((100 - 100 * u.capacity_downtime_minutes / nullif(u.capacity_minutes, 0))::numeric, 4) as availability_pct,
    e.facility_kwh,
    e.it_kwh,
    e.heat_exported_kwht,
    e.co2_avoided_kg,
    e.scope2_location_kg,
    e.n_days as energy_days,
    cap.it_capacity_kw::numeric as it_capacity_kw,
    coalesce(sd.sold_kw, 0)::numeric as sold_kw,
    coalesce(inc.p0_incidents, 0)::integer as p0_incidents,
    coalesce(inc.p1_incidents, 0)::integer as p1_incidents
from months as m
left join invoices as i on m.site_id = i.site_id and m.month_start = i.month_start
left join host as h on m.site_id = h.site_id and m.month_start = h.month_start
left join uptime as u on m.site_id = u.site_id and m.month_start = u.month_start
left join esg as e on m.site_id = e.site_id and m.month_start = e.month_start
left join capacity as cap on m.site_id = cap.site_id
left join sold as sd on m.site_id = sd.site_id and m.month_start = sd.month_start
left join incidents as inc on m.site_id = inc.site_id and m.month_start = inc.month_start
