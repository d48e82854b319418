{#- Monthly SLA per colocation contract (customer) and block (domain §7.5):
      availability = (total − unplanned downtime) / total × 100, 4 dp, total = days × 1,440;
      downtime = merged P0/P1 time on the contract's block, clipped to the month, minus valid
      exclusions (planned maintenance with ≥ 48 h notice, force majeure);
      target = the strictest class among the customer's contracts active that month;
      credit = highest tier whose shortfall threshold the shortfall exceeds, × the monthly colo fee
      (committed kW × colo rate from ref.contracts terms, not pro-rated), rounded to cents.
    Contracts enter for every month of fct_uptime_monthly that overlaps their term. -#}

with contracts as (
    select * from {{ ref('stg_ref__contracts') }}
    where contract_kind = 'colo_msa' and is_active and block_id is not null
),

uptime as (
    select * from {{ ref('fct_uptime_monthly') }}
),

classes as (
    select * from {{ ref('sla_availability_classes') }}
),

tiers as (
    select * from {{ ref('sla_credit_tiers') }}
),

contract_months as (
    select
        c.contract_ref,
        c.counterparty as customer,
        c.currency,
        c.committed_kw,
        coalesce(c.availability_class, u.availability_class) as contract_class,
        (c.terms ->> 'colo_per_kw_month')::numeric as colo_per_kw_month,
        u.*
    from contracts as c
    inner join uptime as u
        on c.site_id = u.site_id and c.block_id = u.block_id
            and u.month_start <= coalesce(c.end_date, date '9999-12-31')
            and (u.month_start + interval '1 month')::date > c.start_date
),

targeted as (
    select
        cm.*,
        cl.target_pct as class_target_pct,
        -- domain §7.5: a customer with several assignments is held to the strictest (highest) target
        max(cl.target_pct) over (partition by cm.customer, cm.month_start) as sla_target_pct
    from contract_months as cm
    left join classes as cl on cm.contract_class = cl.availability_class
),

measured as (
    select
        targeted.*,
        round((total_minutes - unplanned_downtime_minutes) / total_minutes * 100, 4) as availability_pct,
        round(total_minutes * (1 - sla_target_pct / 100), 2) as downtime_budget_minutes
    from targeted
),

credited as (
    select
        m.*,
        greatest(m.sla_target_pct - m.availability_pct, 0) as shortfall_pts,
        coalesce((
            select max(t.credit_pct) from tiers as t
            where m.sla_target_pct - m.availability_pct > t.shortfall_above_pts
        ), 0) as credit_pct,
        round((m.committed_kw * m.colo_per_kw_month)::numeric, 2) as monthly_colo_fee
    from measured as m
)

select
    contract_ref,
    customer,
    site_id,
    block_id,
    month_start,
    year_month,
    currency,
    contract_class as availability_class,
    class_target_pct,
    sla_target_pct,
    days_in_month,
    observed_days,
    is_complete_month,
    total_minutes,
    downtime_minutes,
    excluded_minutes,
    unplanned_downtime_minutes,
    failures as incidents,
    availability_pct,
    availability_pct >= sla_target_pct as sla_met,
    shortfall_pts,
    downtime_budget_minutes,
    round(100 * unplanned_downtime_minutes / nullif(downtime_budget_minutes, 0), 2) as budget_used_pct,
    case
        when availability_pct < sla_target_pct then 'breached'
        when 100 * unplanned_downtime_minutes / nullif(downtime_budget_minutes, 0)
            > {{ bconst('sla_budget_warning_pct') }} then 'warning'
        else 'met'
    end as sla_status,
    committed_kw,
    colo_per_kw_month,
    monthly_colo_fee,
    credit_pct,
    round(monthly_colo_fee * credit_pct / 100, 2) as credit_amount
from credited
