{#- Lender quarterly report per lender contract and quarter (domain §7.7): quarter sums of the
    monthly figures, ratios of sums (availability capacity-weighted over the quarter's minutes, PUE
    and heat-export ratio from summed energies), DSCR trailing 12 months at the quarter's last
    reported month, every covenant of the lender contract tested on its basis (quarterly metrics on
    the quarter, availability on the worst month, DSCR on T12M), the three-month trend and the
    industry benchmarks (seeds/business/business_constants.csv). -#}

with monthly as (
    select * from {{ ref('lender_monthly') }}
),

site_months as (
    select * from {{ ref('int_lender_site_months') }}
),

lenders as (
    select
        contract_ref,
        terms
    from {{ ref('stg_ref__contracts') }}
    where contract_kind = 'lender' and is_active
),

quarters as (
    select
        m.contract_ref,
        min(m.lender) as lender,
        min(m.site_id) as site_id,
        date_trunc('quarter', m.month_start)::date as quarter_start,
        min(m.currency) as currency,
        count(*) as months_reported,
        sum(m.revenue_colo) as revenue_colo,
        sum(m.revenue_power) as revenue_power,
        sum(m.revenue_other) as revenue_other,
        sum(m.sla_credits) as sla_credits,
        sum(m.revenue_net) as revenue_net,
        sum(m.host_payments) as host_payments,
        sum(m.opex) as opex,
        sum(m.cfads) as cfads,
        sum(m.debt_service) as debt_service,
        (array_agg(m.dscr_t12m order by m.month_start desc))[1] as dscr_t12m,
        sum(sm.capacity_minutes) as capacity_minutes,
        sum(sm.capacity_downtime_minutes) as capacity_downtime_minutes,
        sum(m.unplanned_downtime_minutes) as unplanned_downtime_minutes,
        sum(m.outages) as outages,
        sum(m.p0_incidents) as p0_incidents,
        sum(m.p1_incidents) as p1_incidents,
        sum(m.facility_kwh) as facility_kwh,
        sum(m.it_kwh) as it_kwh,
        sum(m.heat_exported_kwht) as heat_exported_kwht,
        sum(m.co2_avoided_kg) as co2_avoided_kg,
        (array_agg(m.utilisation_pct order by m.month_start desc))[1] as utilisation_pct_end,
        min(m.availability_pct) as worst_month_availability_pct,
        string_agg(
            to_char(m.month_start, 'YYYY-MM') || ' ' || coalesce(m.revenue_net::text, '—'), ' | '
            order by m.month_start
        ) as trend_revenue,
        string_agg(
            to_char(m.month_start, 'YYYY-MM') || ' ' || coalesce(m.availability_pct::text, '—'), ' | '
            order by m.month_start
        ) as trend_availability,
        string_agg(
            to_char(m.month_start, 'YYYY-MM') || ' ' || coalesce(m.pue::text, '—'), ' | '
            order by m.month_start
        ) as trend_pue,
        bool_or(m.needs_review) as needs_review
    from monthly as m
    left join site_months as sm on m.site_id = sm.site_id and m.month_start = sm.month_start
    group by m.contract_ref, date_trunc('quarter', m.month_start)::date
),

ratios as (
    select
        q.*,
        l.terms,
        round(
            (100 - 100 * q.capacity_downtime_minutes / nullif(q.capacity_minutes, 0))::numeric, 4
        ) as availability_pct,
        round((q.facility_kwh / nullif(q.it_kwh, 0))::numeric, 4) as pue,
        round((q.heat_exported_kwht / nullif(q.it_kwh, 0))::numeric, 4) as heat_export_ratio
    from quarters as q
    inner join lenders as l on q.contract_ref = l.contract_ref
)

select
    contract_ref,
    lender,
    site_id,
    quarter_start,
    extract(year from quarter_start)::integer || '-Q' || extract(quarter from quarter_start)::integer as quarter_label,
    currency,
    months_reported::integer as months_reported,
    revenue_colo,
    revenue_power,
    revenue_other,
    sla_credits,
    revenue_net,
    host_payments,
    opex,
    cfads,
    debt_service,
    round(cfads / nullif(debt_service, 0), 3) as dscr_quarter,
    dscr_t12m,
    {{ covenant_status('dscr_t12m', 'terms', 'dscr') }} as dscr_covenant_status,
    availability_pct,
    worst_month_availability_pct,
    {{ covenant_status('worst_month_availability_pct', 'terms', 'availability_pct') }} as availability_covenant_status,
    pue,
    {{ covenant_threshold('terms', 'pue', 'lock_up_above') }} as pue_lock_up_above,
    {{ covenant_threshold('terms', 'pue', 'default_above') }} as pue_default_above,
    {{ covenant_status('pue', 'terms', 'pue') }} as pue_covenant_status,
    heat_export_ratio,
    {{ covenant_threshold('terms', 'heat_export_ratio', 'lock_up_below') }} as heat_export_lock_up_below,
    {{ covenant_threshold('terms', 'heat_export_ratio', 'default_below') }} as heat_export_default_below,
    {{ covenant_status('heat_export_ratio', 'terms', 'heat_export_ratio') }} as heat_export_covenant_status,
    unplanned_downtime_minutes,
    outages::integer as outages,
    p0_incidents::integer as p0_incidents,
    p1_incidents::integer as p1_incidents,
    facility_kwh,
    it_kwh,
    heat_exported_kwht,
    co2_avoided_kg,
    utilisation_pct_end,
    trend_revenue,
    trend_availability,
    trend_pue,
    {{ bconst('benchmark_pue_industry_avg') }} as benchmark_pue_industry_avg,
    {{ bconst('benchmark_pue_top_quartile') }} as benchmark_pue_top_quartile,
    {{ bconst('benchmark_availability_industry_avg') }} as benchmark_availability_industry_avg,
    {{ bconst('benchmark_availability_top_quartile') }} as benchmark_availability_top_quartile,
    {{ bconst('benchmark_heat_recovery_industry_avg') }} as benchmark_heat_recovery_industry_avg_pct,
    {{ bconst('benchmark_heat_recovery_top_quartile') }} as benchmark_heat_recovery_top_quartile_pct,
    needs_review
from ratios
