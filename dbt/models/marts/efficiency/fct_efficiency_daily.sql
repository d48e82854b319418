{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('local_date') }}",
        indexes=[{'columns': ['site_id', 'block_id', 'local_date'], 'unique': true}],
    )
}}
-- PUE, ERE, ERF per block and site-local day as ratios of energies (The Green Grid; domain §7.4):
-- E_facility = revenue-meter kWh, E_IT = Σ PDU kWh, E_reused = heat-meter kWht exported while in
-- EXPORT/MIXED. Also per mode (5-minute intervals by their dominant mode): EXPORT/MIXED vs REJECT.
with energy as (
    select
        e.site_id,
        e.block_id,
        e.local_date,
        sum(e.kwh) filter (where e.meter_role = 'facility') as facility_kwh,
        sum(e.kwh) filter (where e.meter_role = 'it') as it_kwh,
        sum(e.kwh) filter (where e.meter_role = 'facility' and h.mode in ({{ billable_modes_sql() }}))
            as facility_kwh_export_modes,
        sum(e.kwh) filter (where e.meter_role = 'it' and h.mode in ({{ billable_modes_sql() }})) as it_kwh_export_modes,
        sum(e.kwh) filter (where e.meter_role = 'facility' and h.mode = 'REJECT') as facility_kwh_reject,
        sum(e.kwh) filter (where e.meter_role = 'it' and h.mode = 'REJECT') as it_kwh_reject
    from {{ ref('fct_energy_5m') }} as e
    left join {{ ref('fct_heat_5m') }} as h
        on e.site_id = h.site_id and e.block_id = h.block_id and e.bucket = h.bucket
    where e.meter_role in ('facility', 'it') and {{ local_date_in_window('e.local_date') }}
    group by e.site_id, e.block_id, e.local_date
),

heat as (
    select
        site_id,
        block_id,
        local_date,
        kwht_export as reused_kwht,
        kwht_loop2,
        kwht_rejected_calculated,
        export_hours
    from {{ ref('fct_heat_daily') }}
    where {{ local_date_in_window('local_date') }}
)

select
    e.site_id,
    e.block_id,
    e.local_date,
    e.facility_kwh,
    e.it_kwh,
    coalesce(h.reused_kwht, 0) as reused_kwht,
    h.kwht_loop2,
    h.kwht_rejected_calculated,
    h.export_hours,
    e.facility_kwh / nullif(e.it_kwh, 0) as pue,
    (e.facility_kwh - coalesce(h.reused_kwht, 0)) / nullif(e.it_kwh, 0) as ere,
    coalesce(h.reused_kwht, 0) / nullif(e.facility_kwh, 0) as erf,
    coalesce(h.reused_kwht, 0) / nullif(e.it_kwh, 0) as heat_export_ratio,
    h.kwht_loop2 / nullif(e.it_kwh, 0) as heat_capture_ratio,
    e.facility_kwh_export_modes,
    e.it_kwh_export_modes,
    e.facility_kwh_export_modes / nullif(e.it_kwh_export_modes, 0) as pue_export_modes,
    e.facility_kwh_reject,
    e.it_kwh_reject,
    e.facility_kwh_reject / nullif(e.it_kwh_reject, 0) as pue_reject
from energy as e
left join heat as h on e.site_id = h.site_id and e.block_id = h.block_id and e.local_date = h.local_date
