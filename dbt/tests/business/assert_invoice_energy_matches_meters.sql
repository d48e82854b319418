-- The invoiced kWh is the customer's rack-meter energy of the month (fct_energy_monthly), and each
-- line amount is quantity × rate rounded to cents.
with meters as (
    select
        contract_ref,
        month_start,
        round(sum(kwh)::numeric, 4) as kwh
    from {{ ref('fct_energy_monthly') }}
    where meter_role = 'rack' and contract_ref is not null
    group by contract_ref, month_start
)

select
    i.invoice_number,
    i.metered_kwh,
    m.kwh
from {{ ref('invoice_monthly') }} as i
left join meters as m on i.contract_ref = m.contract_ref and i.month_start = m.month_start
where
    i.metered_kwh <> coalesce(m.kwh, 0)
    or i.colo_fee_amount <> round(i.committed_kw * coalesce(i.colo_rate, 0) * i.prorata_factor, 2)
    or i.cooling_kwh <> round(i.metered_kwh * greatest(i.pue - 1, 0), 4)
    or i.cooling_amount <> round(i.cooling_kwh * coalesce(i.cooling_rate, 0), 2)
    or i.cross_connect_amount <> round(coalesce(i.cross_connect_fee, 0) * i.cross_connects, 2)
