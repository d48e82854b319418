-- Electrical energy per meter and site-local month, summed from the daily table (rebuilt in full;
-- a few hundred rows per block and year).
with monthly as (
    select
        site_id,
        block_id,
        meter_tag,
        meter_role,
        energy_point_id,
        customer,
        contract_ref,
        cast(date_trunc('month', local_date) as date) as month_start,
        sum(kwh) as kwh,
        sum(kwh_integrated) as kwh_integrated,
        max(peak_kw_5m) as peak_kw_5m,
        sum(n_intervals)::integer as n_intervals,
        sum(n_resets)::integer as n_resets,
        sum(n_rollovers)::integer as n_rollovers,
        count(*)::integer as n_days,
        bool_or(needs_review) as any_day_needs_review
    from {{ ref('fct_energy_daily') }}
    group by 1, 2, 3, 4, 5, 6, 7, 8
)

select
    m.*,
    m.kwh - m.kwh_integrated as diff_kwh,
    (m.kwh - m.kwh_integrated) / nullif(m.kwh_integrated, 0) as diff_ratio,
    {{ expected_intervals('m.month_start', "m.month_start + interval '1 month'", 's.timezone') }}::integer
        as expected_intervals,
    greatest(
        {{ expected_intervals('m.month_start', "m.month_start + interval '1 month'", 's.timezone') }} - m.n_intervals, 0
    ) / {{ expected_intervals('m.month_start', "m.month_start + interval '1 month'", 's.timezone') }} as missing_ratio,
    (
        m.n_intervals
        < 0.95 * {{ expected_intervals('m.month_start', "m.month_start + interval '1 month'", 's.timezone') }}
        or m.n_resets > 0
    ) as needs_review
from monthly as m
inner join {{ ref('dim_sites') }} as s on m.site_id = s.site_id
