-- Calendar from 2026-01-01 (the earliest block epoch) to two years ahead; site-independent.
with days as (
    select cast(d as date) as date_day
    from
        generate_series(
            date '2026-01-01', cast(date_trunc('year', current_date) + interval '2 years' as date), interval '1 day'
        ) as d
)

select
    date_day,
    cast(date_trunc('month', date_day) as date) as month_start,
    cast(date_trunc('quarter', date_day) as date) as quarter_start,
    cast(date_trunc('year', date_day) as date) as year_start,
    extract(year from date_day)::integer as year_number,
    extract(quarter from date_day)::integer as quarter_number,
    extract(month from date_day)::integer as month_number,
    extract(day from date_day)::integer as day_of_month,
    extract(isodow from date_day)::integer as iso_day_of_week,
    extract(week from date_day)::integer as iso_week,
    extract(isodow from date_day) >= 6 as is_weekend,
    extract(day from (date_trunc('month', date_day) + interval '1 month - 1 day'))::integer as days_in_month,
    to_char(date_day, 'YYYY-MM') as year_month
from days
