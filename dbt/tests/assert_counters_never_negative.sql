-- Interval energies from cumulative registers are never negative (a drop is a rollover or a meter
-- replacement, both handled), at every grain.
select
    'fct_energy_5m' as model_name,
    meter_tag as meter,
    local_date,
    kwh as energy
from {{ ref('fct_energy_5m') }}
where kwh < 0
union all
select
    'fct_energy_daily' as model_name,
    meter_tag as meter,
    local_date,
    kwh as energy
from {{ ref('fct_energy_daily') }}
where kwh < 0
union all
select
    'fct_heat_5m' as model_name,
    meter_tag as meter,
    local_date,
    kwht_metered as energy
from {{ ref('fct_heat_5m') }}
where kwht_metered < 0
union all
select
    'fct_heat_daily' as model_name,
    meter_tag as meter,
    local_date,
    kwht_metered as energy
from {{ ref('fct_heat_daily') }}
where kwht_metered < 0
