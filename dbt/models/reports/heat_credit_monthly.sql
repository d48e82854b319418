{#- Host heat-credit statement per host agreement and site-local month (domain §7.3):
      credit = billable kWht × host energy rate × displacement efficiency (rounded to cents);
      revenue share = colocation revenue of the site's invoices × revenue_share_pct / 100;
      host value = credit (+ revenue share under pricing_model 'revenue_share');
      budget-neutral check when the threshold is > 0.
    Billable kWht = the certified meter's register in EXPORT/MIXED intervals inside its rated
    conditions (marts.fct_heat_monthly); held kWht (out of rated conditions, meter fault) is shown,
    not billed. Terms from ref.contracts (sites/*/site.yaml): energy_rate, displacement_efficiency,
    revenue_share_pct, budget_neutral_threshold, optional pricing_model (default 'credit'). -#}

with agreements as (
    select * from {{ ref('stg_ref__contracts') }}
    where contract_kind = 'host_agreement' and is_active
),

heat as (
    select
        site_id,
        month_start,
        sum(billable_kwht) as billable_kwht,
        sum(kwht_metered) as kwht_metered,
        sum(kwht_held) as kwht_held,
        sum(export_hours) as export_hours,
        max(n_days) as n_days,
        bool_or(needs_review) as needs_review
    from {{ ref('fct_heat_monthly') }}
    group by site_id, month_start
),

colo as (
    select
        site_id,
        month_start,
        sum(colo_fee_amount) as colo_revenue
    from {{ ref('invoice_monthly') }}
    group by site_id, month_start
),

joined as (
    select
        a.contract_ref,
        a.counterparty as host,
        a.site_id,
        h.month_start,
        a.currency,
        coalesce(a.terms ->> 'pricing_model', 'credit') as pricing_model,
        (a.terms ->> 'energy_rate')::numeric as energy_rate,
        (a.terms ->> 'displacement_efficiency')::numeric as displacement_efficiency,
        coalesce((a.terms ->> 'revenue_share_pct')::numeric, 0) as revenue_share_pct,
        coalesce((a.terms ->> 'budget_neutral_threshold')::numeric, 0) as budget_neutral_threshold,
        round(h.billable_kwht::numeric, 4) as billable_kwht,
        round(h.kwht_metered::numeric, 4) as kwht_metered,
        round(h.kwht_held::numeric, 4) as kwht_held,
        round(h.export_hours::numeric, 4) as export_hours,
        h.n_days,
        h.needs_review,
        coalesce(c.colo_revenue, 0) as colo_revenue
    from agreements as a
    inner join heat as h
        on a.site_id = h.site_id
            and h.month_start <= coalesce(a.end_date, date '9999-12-31')
            and (h.month_start + interval '1 month')::date > a.start_date
    left join colo as c on a.site_id = c.site_id and h.month_start = c.month_start
),

valued as (
    select
        joined.*,
        round(billable_kwht * coalesce(energy_rate, 0) * coalesce(displacement_efficiency, 0), 2) as heat_credit_amount,
        round(colo_revenue * revenue_share_pct / 100, 2) as revenue_share_amount
    from joined
)

select
    'HC-' || upper(split_part(site_id, '-', 1)) || '-' || to_char(month_start, 'YYYYMM') || '-'
    || lpad(row_number() over (partition by site_id, month_start order by contract_ref)::text, 3, '0')
        as statement_number,
    contract_ref,
    host,
    site_id,
    month_start,
    to_char(month_start, 'YYYY-MM') as year_month,
    currency,
    pricing_model,
    billable_kwht,
    kwht_metered,
    kwht_held,
    export_hours,
    energy_rate,
    displacement_efficiency,
    heat_credit_amount,
    revenue_share_pct,
    colo_revenue,
    revenue_share_amount,
    heat_credit_amount + case when pricing_model = 'revenue_share' then revenue_share_amount else 0 end
        as host_value_amount,
    budget_neutral_threshold,
    case
        when budget_neutral_threshold > 0 then heat_credit_amount
            + case when pricing_model = 'revenue_share' then revenue_share_amount else 0 end >= budget_neutral_threshold
    end as budget_neutral_met,
    greatest(
        budget_neutral_threshold - heat_credit_amount
        - case when pricing_model = 'revenue_share' then revenue_share_amount else 0 end, 0
    ) as budget_shortfall_amount,
    n_days::integer as metered_days,
    (needs_review or energy_rate is null or displacement_efficiency is null) as needs_review
from valued
