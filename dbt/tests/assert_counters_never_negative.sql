-- Interval energies from cumulative registers are never negative (a drop is a rollover or a meter
-- replacement, both handled), at every grain.
select 'fct_energy_5m' as model, cast(energy_point_id as text) as meter, cast(local_date as text) as period, kwh as value
from {{ ref('fct_energy_5m') }} where kwh < 0
union all
select 'fct_energy_daily', cast(energy_point_id as text), cast(local_date as text), kwh
from {{ ref('fct_energy_daily') }} where kwh < 0
union all
select 'fct_heat_5m', block_id, cast(local_date as text), kwht_metered
from {{ ref('fct_heat_5m') }} where kwht_metered < 0
union all
select 'fct_heat_daily', block_id, cast(local_date as text), kwht_metered
from {{ ref('fct_heat_daily') }} where kwht_metered < 0
