-- Every cumulative billing register (kWh, kWht) with the power point of the same meter, so interval
-- energy from counter deltas can be cross-checked against integrated power.
select
    e.site_id,
    e.block_id,
    e.equipment_tag as meter_tag,
    e.point_id as energy_point_id,
    e.tag as energy_tag,
    e.billing_role,
    case e.billing_role
        when 'facility_energy_kwh' then 'facility'
        when 'it_energy_kwh' then 'it'
        when 'rack_energy_kwh' then 'rack'
        when 'thermal_energy_kwht' then 'heat'
    end as meter_role,
    e.wrap_at,
    e.timezone,
    w.point_id as power_point_id,
    w.tag as power_tag
from {{ ref('int_points_located') }} as e
left join {{ ref('int_points_located') }} as w
    on
        e.site_id = w.site_id
        and e.block_id = w.block_id
        and e.equipment_tag = w.equipment_tag
        and w.is_active
        and w.billing_role = case e.billing_role
            when 'facility_energy_kwh' then 'facility_power_kw'
            when 'it_energy_kwh' then 'it_power_kw'
            when 'rack_energy_kwh' then 'rack_power_kw'
            when 'thermal_energy_kwht' then 'thermal_power_kw'
        end
where e.billing_role in ('facility_energy_kwh', 'it_energy_kwh', 'rack_energy_kwh', 'thermal_energy_kwht')
