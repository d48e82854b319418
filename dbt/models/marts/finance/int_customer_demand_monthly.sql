{{ config(schema='intermediate', materialized='table') }}
{#- Peak 15-minute demand per colocation contract and site-local month (domain §7.2 ➜): the
    customer's rack energy summed per clock-aligned 15-minute interval (three 5-minute intervals of
    every rack present, so a gap never makes a "window"), × 4 → kW; the monthly maximum is the
    billed demand. The reference's pooled rolling window mixed series and spanned gaps. -#}

with rack_5m as (
    select
        contract_ref,
        energy_point_id,
        local_date,
        {{ bucket_minutes('bucket', 15) }} as bucket_15m,
        bucket,
        kwh
    from {{ ref('fct_energy_5m') }}
    where meter_role = 'rack' and contract_ref is not null
),

racks_per_contract as (
    select
        contract_ref,
        count(distinct energy_point_id) as racks
    from rack_5m
    group by contract_ref
),

per_15m as (
    select
        r.contract_ref,
        r.bucket_15m,
        min(r.local_date) as local_date,
        sum(r.kwh) as kwh,
        count(r.kwh) as n_rack_intervals
    from rack_5m as r
    group by r.contract_ref, r.bucket_15m
)

select
    p.contract_ref,
    date_trunc('month', p.local_date)::date as month_start,
    round(max(p.kwh * 4)::numeric, 2) as peak_demand_kw,
    (array_agg(p.bucket_15m order by p.kwh desc))[1] as peak_demand_at,
    count(*)::integer as complete_15m_intervals
from per_15m as p
inner join racks_per_contract as rc on p.contract_ref = rc.contract_ref
where p.n_rack_intervals = 3 * rc.racks
group by p.contract_ref, date_trunc('month', p.local_date)::date
