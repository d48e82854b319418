-- Heat per block and site-local month, from the daily table (rebuilt in full).
with monthly as (
    select
        site_id,
        block_id,
        max(meter_tag) as meter_tag,
        cast(date_trunc('month', local_date) as date) as month_start,
        sum(kwht_metered) as kwht_metered,
        sum(kwht_calculated) as kwht_calculated,
        sum(kwht_export) as kwht_export,
        sum(billable_kwht) as billable_kwht,
        sum(kwht_held) as kwht_held,
        sum(kwht_loop2) as kwht_loop2,
        sum(kwht_rejected_calculated) as kwht_rejected_calculated,
        sum(export_hours) as export_hours,
        max(peak_kw_calculated) as peak_kw_calculated,
        sum(n_intervals)::integer as n_intervals,
        sum(n_out_of_rated_intervals)::integer as n_out_of_rated_intervals,
        sum(n_meter_fault_intervals)::integer as n_meter_fault_intervals,
        sum(n_crosscheck_failed_intervals)::integer as n_crosscheck_failed_intervals,
        sum(n_negative_dt_minutes)::integer as n_negative_dt_minutes,
        sum(n_resets)::integer as n_resets,
        count(*)::integer as n_days,
        bool_or(needs_review) as any_day_needs_review
    from {{ ref('fct_heat_daily') }}
    group by site_id, block_id, cast(date_trunc('month', local_date) as date)
)

select
    m.*,
    m.kwht_metered - m.kwht_calculated as diff_kwht,
    (m.kwht_metered - m.kwht_calculated) / nullif(m.kwht_calculated, 0) as diff_ratio,
    m.kwht_export / nullif(m.export_hours, 0) as avg_kwt_export,
    {{ expected_intervals('m.month_start', "m.month_start + interval '1 month'", 's.timezone') }}::integer
        as expected_intervals,
    greatest(
        {{ expected_intervals('m.month_start', "m.month_start + interval '1 month'", 's.timezone') }} - m.n_intervals, 0
    ) / {{ expected_intervals('m.month_start', "m.month_start + interval '1 month'", 's.timezone') }} as missing_ratio,
    (
        m.n_intervals
        < 0.95 * {{ expected_intervals('m.month_start', "m.month_start + interval '1 month'", 's.timezone') }}
        or m.kwht_held > 0
        or m.n_meter_fault_intervals > 0
        or m.n_resets > 0
    ) as needs_review
from monthly as m
inner join {{ ref('dim_sites') }} as s on m.site_id = s.site_id
