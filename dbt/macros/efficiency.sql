{#- PUE, ERE, ERF per block and site-local `period` ('month' or 'year'): ratios of the energies summed over
    the period from fct_efficiency_daily (never an average of daily ratios). -#}
{% macro efficiency_over(period) %}
with summed as (
    select
        site_id,
        block_id,
        cast(date_trunc('{{ period }}', local_date) as date) as {{ period }}_start,
        count(*)::integer as n_days,
        sum(facility_kwh) as facility_kwh,
        sum(it_kwh) as it_kwh,
        sum(reused_kwht) as reused_kwht,
        sum(kwht_loop2) as kwht_loop2,
        sum(kwht_rejected_calculated) as kwht_rejected_calculated,
        sum(export_hours) as export_hours,
        sum(facility_kwh_export_modes) as facility_kwh_export_modes,
        sum(it_kwh_export_modes) as it_kwh_export_modes,
        sum(facility_kwh_reject) as facility_kwh_reject,
        sum(it_kwh_reject) as it_kwh_reject
    from {{ ref('fct_efficiency_daily') }}
    group by site_id, block_id, cast(date_trunc('{{ period }}', local_date) as date)
)

select
    *,
    facility_kwh / nullif(it_kwh, 0) as pue,
    (facility_kwh - reused_kwht) / nullif(it_kwh, 0) as ere,
    reused_kwht / nullif(facility_kwh, 0) as erf,
    reused_kwht / nullif(it_kwh, 0) as heat_export_ratio,
    kwht_loop2 / nullif(it_kwh, 0) as heat_capture_ratio,
    facility_kwh_export_modes / nullif(it_kwh_export_modes, 0) as pue_export_modes,
    facility_kwh_reject / nullif(it_kwh_reject, 0) as pue_reject
from summed
{% endmacro %}
