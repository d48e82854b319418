-- A contract's SLA availability is its block's uptime for the month, and its credit the tier of the
-- shortfall against the target (0 when met).
select
    s.contract_ref,
    s.month_start,
    s.availability_pct,
    u.uptime_pct,
    s.credit_pct
from {{ ref('fct_sla_monthly') }} as s
inner join {{ ref('fct_uptime_monthly') }} as u
    on s.site_id = u.site_id and s.block_id = u.block_id and s.month_start = u.month_start
where
    s.availability_pct <> u.uptime_pct
    or (s.sla_met and s.credit_pct <> 0)
    or (not s.sla_met and s.credit_pct = 0)
