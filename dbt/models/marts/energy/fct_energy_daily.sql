{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('local_date') }}",
        indexes=[{'columns': ['energy_point_id', 'local_date'], 'unique': true}],
    )
}}
-- Electrical energy per meter and site-local day: Σ 5-minute counter deltas (billing), Σ integrated
-- power (cross-check), interval completeness and counter events, and a manual-review flag
-- (missing > 5 % of the day's intervals, a meter reset, or counter vs power off by > 2 %).
with daily as (
    select
        e.site_id,
        e.block_id,
        e.meter_tag,
        e.meter_role,
        e.energy_point_id,
        e.customer,
        e.contract_ref,
        e.local_date,
        sum(e.kwh) as kwh,
        sum(e.kwh_integrated) as kwh_integrated,
        max(e.max_kw) as peak_kw_5m,
        count(*) filter (where e.n_counter_readings > 0)::integer as n_intervals,
        count(*) filter (where e.counter_event = 'reset')::integer as n_resets,
        count(*) filter (where e.counter_event = 'rollover')::integer as n_rollovers,
        count(*) filter (where e.spans_gap)::integer as n_gap_intervals,
        sum(e.n_power_bad)::integer as n_power_bad
    from {{ ref('fct_energy_5m') }} as e
    where {{ local_date_in_window('e.local_date') }}
    group by 1, 2, 3, 4, 5, 6, 7, 8
)

select
    d.*,
    d.kwh - d.kwh_integrated as diff_kwh,
    (d.kwh - d.kwh_integrated) / nullif(d.kwh_integrated, 0) as diff_ratio,
    {{ expected_intervals('d.local_date', 'd.local_date + 1', 's.timezone') }}::integer as expected_intervals,
    greatest({{ expected_intervals('d.local_date', 'd.local_date + 1', 's.timezone') }} - d.n_intervals, 0)
    / {{ expected_intervals('d.local_date', 'd.local_date + 1', 's.timezone') }} as missing_ratio,
    (
        d.n_intervals < 0.95 * {{ expected_intervals('d.local_date', 'd.local_date + 1', 's.timezone') }}
        or d.n_resets > 0
        or coalesce(abs(d.kwh - d.kwh_integrated) > 0.02 * abs(d.kwh_integrated), true)
    ) as needs_review
from daily as d
inner join {{ ref('dim_sites') }} as s on d.site_id = s.site_id
