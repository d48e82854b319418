-- Domain §7.3 worked example, 10.0 m³/h at 40.0 / 26.5 °C: the brief's constant water (997 kg/m³,
-- 4.18 kJ/(kg·K)) gives 156.3 kWt; with water properties at the mean 33.25 °C (EN 1434 practice)
-- mcs.physics.thermal_power_kw gives 155.834 kWt, 12.986 kWht per 5-minute interval. And loop 2 at
-- 90 m³/h, 45 / 35 °C, 35 % PG: 971.589 kWt. The SQL macros must reproduce both within 1 W.
with cases as (
    select
        'water worked example' as case_name,
        {{ thermal_power_kw('10.0', '40.0', '26.5') }} as kw,
        155.83381085 as expected_kw
    union all
    select
        'glycol loop 2' as case_name,
        {{ thermal_power_kw('90.0', '45.0', '35.0', '35.0') }} as kw,
        971.58924611 as expected_kw
)

select * from cases
where abs(kw - expected_kw) > 0.001
