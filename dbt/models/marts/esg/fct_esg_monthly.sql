{#- Site ESG figures per site-local month (domain §7.8), with every factor used stated in the row:
      scope 2 (location-based) = facility kWh × grid factor of the site's region (seed emission_factors);
      fuel displaced = heat delivered (kWht exported in EXPORT/MIXED) / host boiler efficiency;
      therms = fuel kWh / 29.3071; CO₂ avoided = therms × 5.306 kg (natural gas, HHV);
      net = scope 2 − avoided (scope 1 is NULL: no generator fuel is metered on the demo blocks).
    This replaces the reference's formula (kWht × grid factor × (1 − boiler efficiency)), which priced
    displaced gas heat with the electric grid factor and the boiler's loss fraction. PUE/ERE/ERF are
    ratios of the site's summed energies, never averages of block ratios. -#}

with efficiency as (
    select
        site_id,
        month_start,
        count(distinct block_id) as blocks,
        max(n_days) as n_days,
        sum(facility_kwh) as facility_kwh,
        sum(it_kwh) as it_kwh,
        sum(reused_kwht) as reused_kwht
    from {{ ref('fct_efficiency_monthly') }}
    group by site_id, month_start
),

sites as (
    select
        site_id,
        grid_region
    from {{ ref('dim_sites') }}
),

factors as (
    select * from {{ ref('emission_factors') }}
),

host_terms as (
    -- the site's host agreement in force (latest start) supplies the boiler efficiency
    select distinct on (site_id)
        site_id,
        contract_ref,
        (terms ->> 'boiler_efficiency')::numeric as boiler_efficiency
    from {{ ref('stg_ref__contracts') }}
    where contract_kind = 'host_agreement' and is_active
    order by site_id asc, start_date desc
),

joined as (
    select
        e.*,
        s.grid_region,
        coalesce(f.region_code, fb.region_code) as factor_region,
        coalesce(f.factor_kg_co2_per_kwh, fb.factor_kg_co2_per_kwh) as grid_factor_kg_per_kwh,
        coalesce(f.source, fb.source) as grid_factor_source,
        coalesce(f.effective_year, fb.effective_year) as grid_factor_year,
        coalesce(h.boiler_efficiency, {{ bconst('default_boiler_efficiency') }}) as boiler_efficiency,
        case when h.boiler_efficiency is null then 'platform_default' else 'host_agreement' end
            as boiler_efficiency_source,
        {{ bconst('gas_kwh_per_therm') }} as gas_kwh_per_therm,
        {{ bconst('gas_kg_co2_per_therm') }} as gas_kg_co2_per_therm
    from efficiency as e
    inner join sites as s on e.site_id = s.site_id
    left join factors as f on s.grid_region = f.region_code
    left join factors as fb on fb.region_code = 'US-AVG'
    left join host_terms as h on e.site_id = h.site_id
),

computed as (
    select
        joined.*,
        reused_kwht / boiler_efficiency as fuel_displaced_kwh,
        reused_kwht / boiler_efficiency / gas_kwh_per_therm as therms_displaced,
        reused_kwht / boiler_efficiency / gas_kwh_per_therm * gas_kg_co2_per_therm as co2_avoided_kg,
        facility_kwh * grid_factor_kg_per_kwh as scope2_location_kg
    from joined
)

select
    site_id,
    month_start,
    to_char(month_start, 'YYYY-MM') as year_month,
    blocks::integer as blocks,
    n_days::integer as n_days,
    round(facility_kwh::numeric, 3) as facility_kwh,
    round(it_kwh::numeric, 3) as it_kwh,
    round(reused_kwht::numeric, 3) as heat_exported_kwht,
    round((facility_kwh / nullif(it_kwh, 0))::numeric, 4) as pue,
    round(((facility_kwh - reused_kwht) / nullif(it_kwh, 0))::numeric, 4) as ere,
    round((reused_kwht / nullif(facility_kwh, 0))::numeric, 4) as erf,
    round((reused_kwht / nullif(it_kwh, 0))::numeric, 4) as heat_export_ratio,
    grid_region,
    factor_region,
    grid_factor_kg_per_kwh,
    grid_factor_source,
    grid_factor_year,
    round(scope2_location_kg::numeric, 3) as scope2_location_kg,
    cast(null as numeric) as scope1_kg,
    boiler_efficiency,
    boiler_efficiency_source,
    gas_kwh_per_therm,
    gas_kg_co2_per_therm,
    round(fuel_displaced_kwh::numeric, 3) as fuel_displaced_kwh,
    round(therms_displaced::numeric, 3) as therms_displaced,
    round(co2_avoided_kg::numeric, 3) as co2_avoided_kg,
    round((scope2_location_kg - co2_avoided_kg)::numeric, 3) as net_co2_kg,
    scope2_location_kg - co2_avoided_kg < 0 as is_carbon_negative,
    round((100 * co2_avoided_kg / nullif(scope2_location_kg, 0))::numeric, 2) as co2_offset_pct
from computed
