{#- Lender monthly report per lender contract (site) and site-local month (domain §7.7): revenue by
    kind, SLA credits, host payments, cash flow available for debt service and DSCR (month and
    trailing 12 months), availability, PUE, heat export, utilisation, P0/P1 incidents, CO₂ avoided,
    and each covenant of the lender contract tested against its lock-up / default thresholds.

    The reference had no covenants and a fixed "EBITDA = 45 % of revenue"; here the inputs come from
    the financing documents via ref.contracts.terms of the lender contract: `opex_per_month` and
    `debt_service_per_month` (CFADS = net revenue − host payments − opex; DSCR = CFADS / debt service).
    Without them DSCR stays NULL and its covenant reads 'not_tested' — no figure is guessed. -#}

with lenders as (
    select * from {{ ref('stg_ref__contracts') }}
    where contract_kind = 'lender' and is_active
),

site_months as (
    select * from {{ ref('int_lender_site_months') }}
),

base as (
    select
        l.contract_ref,
        l.counterparty as lender,
        l.currency as contract_currency,
        l.terms,
        (l.terms ->> 'opex_per_month')::numeric as opex,
        (l.terms ->> 'debt_service_per_month')::numeric as debt_service,
        sm.*
    from lenders as l
    inner join site_months as sm
        on l.site_id = sm.site_id
            and sm.month_start <= coalesce(l.end_date, date '9999-12-31')
            and (sm.month_start + interval '1 month')::date > l.start_date
),

cash as (
    select
        base.*,
        revenue_net - host_payments - opex as cfads
    from base
),

with_t12 as (
    select
        cash.*,
        sum(cfads) over t12 as cfads_t12m,
        sum(debt_service) over t12 as debt_service_t12m,
        count(*) over t12 as months_in_t12m
    from cash
    window t12 as (
        partition by contract_ref order by month_start
        range between interval '11 months' preceding and current row
    )
),

measured as (
    select
        with_t12.*,
        round(cfads / nullif(debt_service, 0), 3) as dscr_month,
        round(cfads_t12m / nullif(debt_service_t12m, 0), 3) as dscr_t12m,
        round((facility_kwh / nullif(it_kwh, 0))::numeric, 4) as pue,
        round((heat_exported_kwht / nullif(it_kwh, 0))::numeric, 4) as heat_export_ratio,
        round((100 * sold_kw / nullif(it_capacity_kw, 0))::numeric, 1) as utilisation_pct
    from with_t12
)

select
    contract_ref,
    lender,
    site_id,
    month_start,
    to_char(month_start, 'FMMonth YYYY') as period_label,
    coalesce(currency, contract_currency) as currency,
    invoices,
    revenue_colo,
    revenue_power,
    revenue_other,
    sla_credits,
    revenue_net,
    host_payments,
    opex,
    cfads,
    debt_service,
    dscr_month,
    cfads_t12m,
    debt_service_t12m,
    months_in_t12m::integer as months_in_t12m,
    dscr_t12m,
    {{ covenant_threshold('terms', 'dscr', 'lock_up_below') }} as dscr_lock_up_below,
    {{ covenant_threshold('terms', 'dscr', 'default_below') }} as dscr_default_below,
    {{ covenant_status('dscr_t12m', 'terms', 'dscr') }} as dscr_covenant_status,
    availability_pct,
    {{ covenant_threshold('terms', 'availability_pct', 'lock_up_below') }} as availability_lock_up_below,
    {{ covenant_threshold('terms', 'availability_pct', 'default_below') }} as availability_default_below,
    {{ covenant_status('availability_pct', 'terms', 'availability_pct') }} as availability_covenant_status,
    unplanned_downtime_minutes,
    outages,
    p0_incidents,
    p1_incidents,
    pue,
    heat_export_ratio,
    facility_kwh,
    it_kwh,
    heat_exported_kwht,
    co2_avoided_kg,
    scope2_location_kg,
    it_capacity_kw,
    sold_kw,
    utilisation_pct,
    energy_days,
    invoices_need_review as needs_review
from measured
