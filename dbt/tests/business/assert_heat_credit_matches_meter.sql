-- Heat credit statements bill exactly the billable kWht of the site's blocks for the month.
with heat as (
    select
        site_id,
        month_start,
        round(sum(billable_kwht)::numeric, 4) as kwht
    from {{ ref('fct_heat_monthly') }}
    group by site_id, month_start
)

select
    h.statement_number,
    h.billable_kwht,
    heat.kwht
from {{ ref('heat_credit_monthly') }} as h
left join heat on h.site_id = heat.site_id and h.month_start = heat.month_start
where h.billable_kwht <> coalesce(heat.kwht, 0)
