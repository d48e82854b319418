-- The revenue meter feeds the PDUs: on a complete day facility kWh ≥ IT kWh (PUE ≥ 1), and the PDU
-- total is the sum of what the racks draw within 2 % (sub-meter reconciliation, domain §1.5).
with racks as (
    select
        site_id,
        block_id,
        local_date,
        sum(kwh) as rack_kwh
    from {{ ref('fct_energy_daily') }}
    where meter_role = 'rack'
    group by site_id, block_id, local_date
)

select
    e.site_id,
    e.block_id,
    e.local_date,
    e.facility_kwh,
    e.it_kwh,
    r.rack_kwh
from {{ ref('fct_efficiency_daily') }} as e
inner join {{ ref('fct_energy_daily') }} as f
    on e.site_id = f.site_id and e.block_id = f.block_id and e.local_date = f.local_date and f.meter_role = 'facility'
left join racks as r on e.site_id = r.site_id and e.block_id = r.block_id and e.local_date = r.local_date
where
    f.missing_ratio < 0.05
    and (e.facility_kwh < e.it_kwh or abs(r.rack_kwh - e.it_kwh) > 0.02 * e.it_kwh)
