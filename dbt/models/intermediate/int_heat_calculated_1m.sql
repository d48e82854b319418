-- Heat recomputed per minute from the instruments (domain §7.3): the billing meter's flow and
-- matched temperature pair on the host side (water, EN 1434 properties), loop 2 (propylene glycol
-- at the measured CT-glycol) for the heat collected from IT, and the dry cooler's share of loop 2
-- (flow × V-REJ position) for rejected heat. Properties at the mean of each temperature pair
-- (macros/physics.sql = mcs/physics.py). A view: callers filter local_date, which PostgreSQL pushes
-- below the GROUP BY into fct_rollup_1m's local_date index.
{%- set tags = var('heat_balance_tags') %}
{%- set rated = var('heat_meter_rated') %}
with signals as (
    select
        r.site_id,
        r.block_id,
        r.bucket,
        r.local_date,
        max(r.avg_value) filter (where p.billing_role = 'thermal_flow_m3h') as flow_m3h,
        max(r.avg_value) filter (where p.billing_role = 'thermal_supply_temp') as supply_c,
        max(r.avg_value) filter (where p.billing_role = 'thermal_return_temp') as return_c,
        max(r.avg_value) filter (where p.tag = '{{ tags.loop2_flow }}') as loop2_flow_m3h,
        max(r.avg_value) filter (where p.tag = '{{ tags.loop2_supply }}') as loop2_supply_c,
        max(r.avg_value) filter (where p.tag = '{{ tags.loop2_return }}') as loop2_return_c,
        max(r.avg_value) filter (where p.tag = '{{ tags.glycol_pct }}') as glycol_pct_measured,
        max(r.avg_value) filter (where p.tag = '{{ tags.reject_valve_pct }}') as reject_valve_pct,
        max(r.avg_value) filter (where p.tag = '{{ tags.reject_in }}') as reject_in_c,
        max(r.avg_value) filter (where p.tag = '{{ tags.reject_out }}') as reject_out_c
    from {{ ref('fct_rollup_1m') }} as r
    inner join {{ ref('int_points_located') }} as p on r.point_id = p.point_id
    where
        r.n > 0
        and (
            p.billing_role in ('thermal_flow_m3h', 'thermal_supply_temp', 'thermal_return_temp')
            or p.tag in (
                '{{ tags.loop2_flow }}', '{{ tags.loop2_supply }}', '{{ tags.loop2_return }}',
                '{{ tags.glycol_pct }}', '{{ tags.reject_valve_pct }}', '{{ tags.reject_in }}',
                '{{ tags.reject_out }}'
            )
        )
    group by r.site_id, r.block_id, r.bucket, r.local_date
),

prepared as (
    select
        *,
        supply_c - return_c as delta_t_k,
        (supply_c + return_c) / 2.0 as mean_c,
        (loop2_supply_c + loop2_return_c) / 2.0 as loop2_mean_c,
        (reject_in_c + reject_out_c) / 2.0 as reject_mean_c,
        coalesce(glycol_pct_measured, {{ var('default_glycol_pct') }}) as glycol_pct,
        {{ pg_mass_fraction('coalesce(glycol_pct_measured, ' ~ var('default_glycol_pct') ~ ')') }} as glycol_w,
        flow_m3h >= {{ var('heat_flow_cutoff_m3h') }} as is_flowing
    from signals
),

properties as (
    select
        *,
        {{ water_density('mean_c') }} as water_density_kg_m3,
        {{ water_cp('mean_c') }} as water_cp_kj_kgk,
        {{ glycol_density_w('loop2_mean_c', 'glycol_w') }} * {{ glycol_cp_w('loop2_mean_c', 'glycol_w') }}
            as loop2_rho_cp,
        {{ glycol_density_w('reject_mean_c', 'glycol_w') }} * {{ glycol_cp_w('reject_mean_c', 'glycol_w') }}
            as reject_rho_cp
    from prepared
)

select
    site_id,
    block_id,
    bucket,
    local_date,
    flow_m3h,
    supply_c,
    return_c,
    delta_t_k,
    glycol_pct,
    is_flowing,
    water_density_kg_m3,
    water_cp_kj_kgk,
    -- ΔT < −0.5 K: dropped and counted as an anomaly; −0.5 ≤ ΔT < 0: no heat (domain §7.3).
    case
        when delta_t_k < -0.5 then null
        when delta_t_k < 0 then 0.0
        else flow_m3h * water_density_kg_m3 * water_cp_kj_kgk * delta_t_k / 3600.0
    end as kw_calculated,
    coalesce(delta_t_k < -0.5, false) as is_negative_dt,
    coalesce(
        is_flowing and (
            flow_m3h < {{ rated.flow_min_m3h }} or flow_m3h > {{ rated.flow_max_m3h }}
            or least(supply_c, return_c) < {{ rated.theta_min_c }}
            or greatest(supply_c, return_c) > {{ rated.theta_max_c }}
            or abs(delta_t_k) < {{ rated.dtheta_min_k }} or abs(delta_t_k) > {{ rated.dtheta_max_k }}
        ),
        false
    ) as is_out_of_rated,
    greatest(loop2_flow_m3h * loop2_rho_cp * (loop2_supply_c - loop2_return_c) / 3600.0, 0.0) as kw_loop2,
    greatest(
        loop2_flow_m3h * reject_valve_pct / 100.0 * reject_rho_cp * (reject_in_c - reject_out_c) / 3600.0, 0.0
    ) as kw_rejected
from properties
