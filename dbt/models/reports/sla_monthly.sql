{#- Finance-facing SLA statement per colocation contract and month (domain §7.5) with an enforced
    contract; the logic lives in marts.fct_sla_monthly. -#}
select
    contract_ref,
    customer,
    site_id,
    block_id,
    month_start,
    year_month,
    currency,
    availability_class,
    sla_target_pct,
    total_minutes,
    downtime_minutes,
    excluded_minutes,
    unplanned_downtime_minutes,
    incidents,
    availability_pct,
    sla_met,
    shortfall_pts,
    downtime_budget_minutes,
    budget_used_pct,
    sla_status,
    monthly_colo_fee,
    credit_pct,
    credit_amount,
    observed_days,
    is_complete_month
from {{ ref('fct_sla_monthly') }}
