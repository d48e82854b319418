{#- Customer invoice per colocation contract and site-local month (domain §7.6), one row per
    invoice with every line's quantity, rate and amount:
      (1) colocation = committed kW × colo rate × pro-rata factor
      (2) metered IT power = rack-meter kWh (counter deltas, fct_energy_monthly) × power rate
      (3) peak demand = peak clock-aligned 15-min kW × demand rate (if the contract has one)
      (4) cooling overhead = kWh × (PUE − 1) × cooling rate, PUE of the block's month
          (fct_efficiency_monthly), else the contract's default, else business_constants.default_pue
      (5) cross-connects = count × fee
      (6) SLA credit (negative) from fct_sla_monthly
    subtotal = Σ lines; tax = subtotal × tax rate; total = subtotal + tax. Each amount is rounded to
    cents (half away from zero, as the reference's Decimal ROUND_HALF_UP); quantities to 4 dp. -#}

with months as (
    select * from {{ ref('int_colo_contract_months') }}
),

energy as (
    select
        contract_ref,
        month_start,
        sum(kwh) as kwh,
        sum(kwh_integrated) as kwh_integrated,
        sum(n_intervals) as n_intervals,
        max(n_days) as n_days,
        bool_or(needs_review) as needs_review,
        sum(n_resets) as n_resets
    from {{ ref('fct_energy_monthly') }}
    where meter_role = 'rack' and contract_ref is not null
    group by contract_ref, month_start
),

demand as (
    select * from {{ ref('int_customer_demand_monthly') }}
),

efficiency as (
    select
        site_id,
        block_id,
        month_start,
        pue
    from {{ ref('fct_efficiency_monthly') }}
),

sla as (
    select * from {{ ref('fct_sla_monthly') }}
),

lines as (
    select
        m.*,
        round(m.billable_days::numeric / m.days_in_month, 6) as prorata_factor,
        round(coalesce(e.kwh, 0)::numeric, 4) as metered_kwh,
        round(e.kwh_integrated::numeric, 4) as metered_kwh_integrated,
        coalesce(e.n_days, 0) as metered_days,
        coalesce(e.needs_review, true) as energy_needs_review,
        d.peak_demand_kw,
        d.peak_demand_at,
        case
            when ef.pue is not null then 'block_month'
            when m.contract_default_pue is not null then 'contract_default'
            else 'platform_default'
        end as pue_source,
        round(coalesce(ef.pue, m.contract_default_pue, {{ bconst('default_pue') }})::numeric, 4) as pue,
        s.availability_pct,
        s.sla_target_pct,
        coalesce(s.credit_pct, 0) as sla_credit_pct,
        round(coalesce(s.credit_amount, 0)::numeric, 2) as sla_credit_amount
    from months as m
    left join energy as e on m.contract_ref = e.contract_ref and m.month_start = e.month_start
    left join demand as d on m.contract_ref = d.contract_ref and m.month_start = d.month_start
    left join efficiency as ef
        on m.site_id = ef.site_id and m.block_id = ef.block_id and m.month_start = ef.month_start
    left join sla as s on m.contract_ref = s.contract_ref and m.month_start = s.month_start
),

amounts as (
    select
        lines.*,
        round(committed_kw * coalesce(colo_per_kw_month, 0) * prorata_factor, 2) as colo_fee_amount,
        round(metered_kwh * coalesce(power_per_kwh, 0), 2) as power_amount,
        case when coalesce(demand_per_kw, 0) > 0 then round(coalesce(peak_demand_kw, 0) * demand_per_kw, 2) else 0 end
            as demand_amount,
        round(metered_kwh * greatest(pue - 1, 0), 4) as cooling_kwh,
        round(coalesce(cross_connect_fee, 0) * cross_connects, 2) as cross_connect_amount
    from lines
),

totals as (
    select
        amounts.*,
        round(cooling_kwh * coalesce(cooling_per_kwh, 0), 2) as cooling_amount
    from amounts
),

subtotals as (
    select
        totals.*,
        colo_fee_amount + power_amount + demand_amount + cooling_amount + cross_connect_amount
        - sla_credit_amount as subtotal_amount
    from totals
)

select
    'ML-' || upper(split_part(site_id, '-', 1)) || '-' || to_char(month_start, 'YYYYMM') || '-'
    || lpad(row_number() over (partition by site_id, month_start order by contract_ref)::text, 3, '0')
        as invoice_number,
    contract_ref,
    customer,
    site_id,
    block_id,
    month_start,
    month_end,
    year_month,
    currency,
    committed_kw,
    colo_per_kw_month as colo_rate,
    billable_days,
    days_in_month,
    prorata_factor,
    colo_fee_amount,
    metered_kwh,
    power_per_kwh as power_rate,
    power_amount,
    peak_demand_kw,
    peak_demand_at,
    demand_per_kw as demand_rate,
    demand_amount,
    pue,
    pue_source,
    cooling_kwh,
    cooling_per_kwh as cooling_rate,
    cooling_amount,
    cross_connects,
    cross_connect_fee,
    cross_connect_amount,
    availability_pct,
    sla_target_pct,
    sla_credit_pct,
    sla_credit_amount,
    subtotal_amount,
    tax_rate,
    round(subtotal_amount * tax_rate, 2) as tax_amount,
    subtotal_amount + round(subtotal_amount * tax_rate, 2) as total_amount,
    payment_terms_days,
    metered_kwh_integrated,
    metered_days,
    metered_days < days_in_month as is_partial_period,
    (energy_needs_review or power_per_kwh is null or colo_per_kw_month is null) as needs_review,
    concat_ws(
        '; ',
        case
            when metered_days < days_in_month then 'energy for ' || metered_days || ' of ' || days_in_month || ' days'
        end,
        case
            when energy_needs_review then 'meter data needs review (missing intervals, reset or counter/power mismatch)'
        end,
        case when power_per_kwh is null then 'contract has no power_per_kwh' end,
        case when colo_per_kw_month is null then 'contract has no colo_per_kw_month' end,
        case when pue_source <> 'block_month' then 'cooling PUE from ' || pue_source end
    ) as review_notes
from subtotals
