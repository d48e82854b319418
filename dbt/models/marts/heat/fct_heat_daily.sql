{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('local_date') }}",
        indexes=[{'columns': ['site_id', 'block_id', 'local_date'], 'unique': true}],
    )
}}
-- Heat per block and site-local day (domain §7.3 outputs): metered vs calculated kWht, exported and
-- billable kWht, export hours, average/peak kWt, loop-2 and rejected heat for the balance, and
-- data-quality counts with a manual-review flag.
with daily as (
    select
        site_id,
        block_id,
        local_date,
        max(meter_tag) as meter_tag,
        sum(kwht_metered) as kwht_metered,
        sum(kwht_calculated) as kwht_calculated,
        sum(kwht_export) as kwht_export,
        sum(billable_kwht) as billable_kwht,
        sum(kwht_held) as kwht_held,
        sum(kwht_loop2) as kwht_loop2,
        sum(kwht_rejected_calculated) as kwht_rejected_calculated,
        sum(billable_fraction) * 5.0 / 60.0 as export_hours,
        max(max_kw_calculated) as peak_kw_calculated,
        sum(avg_delta_t_k * n_minutes_flowing) / nullif(sum(n_minutes_flowing) filter (
            where avg_delta_t_k is not null
        ), 0) as avg_delta_t_k,
        avg(avg_flow_m3h) filter (where n_minutes_flowing > 0) as avg_flow_m3h,
        count(*) filter (where n_counter_readings > 0)::integer as n_intervals,
        count(*) filter (where out_of_rated)::integer as n_out_of_rated_intervals,
        count(*) filter (where meter_fault)::integer as n_meter_fault_intervals,
        count(*) filter (where crosscheck_failed)::integer as n_crosscheck_failed_intervals,
        sum(n_negative_dt)::integer as n_negative_dt_minutes,
        count(*) filter (where counter_event = 'reset')::integer as n_resets,
        count(*) filter (where counter_event = 'rollover')::integer as n_rollovers
    from {{ ref('fct_heat_5m') }}
    where {{ local_date_in_window('local_date') }}
    group by site_id, block_id, local_date
)

select
    d.*,
    d.kwht_metered - d.kwht_calculated as diff_kwht,
    (d.kwht_metered - d.kwht_calculated) / nullif(d.kwht_calculated, 0) as diff_ratio,
    d.kwht_export / nullif(d.export_hours, 0) as avg_kwt_export,
    {{ expected_intervals('d.local_date', 'd.local_date + 1', 's.timezone') }}::integer as expected_intervals,
    greatest({{ expected_intervals('d.local_date', 'd.local_date + 1', 's.timezone') }} - d.n_intervals, 0)
    / {{ expected_intervals('d.local_date', 'd.local_date + 1', 's.timezone') }} as missing_ratio,
    (
        d.n_intervals < 0.95 * {{ expected_intervals('d.local_date', 'd.local_date + 1', 's.timezone') }}
        or d.kwht_held > 0
        or d.n_meter_fault_intervals > 0
        or d.n_resets > 0
        or d.n_negative_dt_minutes > 0
        or coalesce(d.kwht_metered > 10 and abs(d.kwht_metered - d.kwht_calculated) > 0.03 * d.kwht_calculated, false)
    ) as needs_review
from daily as d
inner join {{ ref('dim_sites') }} as s on d.site_id = s.site_id
