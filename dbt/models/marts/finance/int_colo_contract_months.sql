{{ config(schema='intermediate', materialized='table') }}
{#- Colocation contract × site-local month with the commercial terms read from ref.contracts.terms
    (site.yaml) and the pro-rata factor for contracts starting or ending mid-month (domain §7.2:
    billable days / days in month, colocation fee only). A month exists when the customer's rack
    meters have energy in it or the SLA engine measured it. Terms missing from the contract stay
    NULL (and are flagged by invoice_monthly) rather than being defaulted to someone else's price. -#}

with contracts as (
    select * from {{ ref('stg_ref__contracts') }}
    where contract_kind = 'colo_msa' and is_active
),

energy_months as (
    select
        contract_ref,
        month_start
    from {{ ref('fct_energy_monthly') }}
    where meter_role = 'rack' and contract_ref is not null
    group by contract_ref, month_start
),

sla_months as (
    select
        contract_ref,
        month_start
    from {{ ref('fct_sla_monthly') }}
),

months as (
    select
        contract_ref,
        month_start
    from energy_months
    union
    select
        contract_ref,
        month_start
    from sla_months
)

select
    c.contract_ref,
    c.counterparty as customer,
    c.site_id,
    c.block_id,
    m.month_start,
    to_char(m.month_start, 'YYYY-MM') as year_month,
    (m.month_start + interval '1 month' - interval '1 day')::date as month_end,
    c.currency,
    c.availability_class,
    c.committed_kw::numeric as committed_kw,
    c.start_date,
    c.end_date,
    extract(day from (m.month_start + interval '1 month' - interval '1 day'))::integer as days_in_month,
    (
        least(coalesce(c.end_date, date '9999-12-31'), (m.month_start + interval '1 month' - interval '1 day')::date)
        - greatest(c.start_date, m.month_start) + 1
    )::integer as billable_days,
    (c.terms ->> 'colo_per_kw_month')::numeric as colo_per_kw_month,
    (c.terms ->> 'power_per_kwh')::numeric as power_per_kwh,
    (c.terms ->> 'demand_per_kw')::numeric as demand_per_kw,
    -- domain §7.2: the cooling rate falls back to the power rate
    coalesce((c.terms ->> 'cooling_per_kwh')::numeric, (c.terms ->> 'power_per_kwh')::numeric) as cooling_per_kwh,
    (c.terms ->> 'default_pue')::numeric as contract_default_pue,
    coalesce((c.terms ->> 'cross_connects')::integer, 0) as cross_connects,
    (c.terms ->> 'cross_connect_fee')::numeric as cross_connect_fee,
    coalesce((c.terms ->> 'tax_rate')::numeric, 0) as tax_rate,
    coalesce((c.terms ->> 'payment_terms_days')::integer, 30) as payment_terms_days
from contracts as c
inner join months as m on c.contract_ref = m.contract_ref
where m.month_start <= coalesce(c.end_date, date '9999-12-31')
    and (m.month_start + interval '1 month')::date > c.start_date
