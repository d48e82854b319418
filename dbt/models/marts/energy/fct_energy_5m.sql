{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('local_date') }}",
        indexes=[
            {'columns': ['energy_point_id', 'bucket'], 'unique': true},
            {'columns': ['local_date']},
        ],
    )
}}
-- Electrical energy per meter and 5-minute interval: kWh from the cumulative register (billing
-- quantity), kWh from integrated power (avg kW × 5/60, cross-check), and their difference.
-- Meters: the revenue meter (facility), PDUs (IT) and racks (allocated to the colo customer whose
-- contract lists the rack on that day).
with deltas as (
    select * from ({{ counter_deltas_5m(['facility', 'it', 'rack']) }}) as d
    where {{ local_date_in_window('d.local_date') }}
),

power as (
    select
        m.energy_point_id,
        r.bucket,
        r.local_date,
        r.n,
        r.n_bad,
        r.avg_value * 5.0 / 60.0 as kwh_integrated,
        r.max_value as max_kw
    from {{ ref('fct_rollup_5m') }} as r
    inner join {{ ref('int_meters_paired') }} as m on r.point_id = m.power_point_id
    where m.meter_role in ('facility', 'it', 'rack') and {{ local_date_in_window('r.local_date') }}
),

grid as (
    select
        coalesce(d.energy_point_id, p.energy_point_id) as energy_point_id,
        coalesce(d.bucket, p.bucket) as bucket,
        coalesce(d.local_date, p.local_date) as local_date,
        d.energy as kwh,
        d.register_value,
        d.counter_event,
        d.spans_gap,
        coalesce(d.n_counter_readings, 0) as n_counter_readings,
        p.kwh_integrated,
        p.max_kw,
        coalesce(p.n, 0) as n_power_readings,
        coalesce(p.n_bad, 0) as n_power_bad
    from deltas as d
    full outer join power as p on d.energy_point_id = p.energy_point_id and d.bucket = p.bucket
),

customers as (
    select
        c.site_id,
        c.block_id,
        rack.rack_tag,
        c.counterparty,
        c.contract_ref,
        c.start_date,
        c.end_date
    from {{ ref('stg_ref__contracts') }} as c
    cross join lateral unnest(c.racks) as rack (rack_tag)
    where c.contract_kind = 'colo_msa' and c.is_active
)

select
    m.site_id,
    m.block_id,
    m.meter_tag,
    m.meter_role,
    g.energy_point_id,
    m.power_point_id,
    cust.counterparty as customer,
    cust.contract_ref,
    g.bucket,
    g.local_date,
    g.kwh,
    g.kwh_integrated,
    g.kwh - g.kwh_integrated as diff_kwh,
    g.max_kw,
    g.register_value,
    g.counter_event,
    g.spans_gap,
    g.n_counter_readings,
    g.n_power_readings,
    g.n_power_bad
from grid as g
inner join {{ ref('int_meters_paired') }} as m on g.energy_point_id = m.energy_point_id
left join customers as cust
    on
        m.meter_role = 'rack'
        and m.site_id = cust.site_id
        and m.block_id = cust.block_id
        and m.meter_tag = cust.rack_tag
        and g.local_date between cust.start_date and coalesce(cust.end_date, date '9999-12-31')
