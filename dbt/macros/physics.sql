{#- Heat-transfer fluid properties, the SQL twin of mcs/physics.py (change both together; the
    integration test compares them on a grid). θ in °C, glycol as % by volume (CT-glycol), results
    in kg/m³, kJ/(kg·K), kW. Every argument is a SQL expression.

    * Water ρ: Thiesen–Scheel–Diesselhorst (≤ 0.02 % from IAPWS-95, 0–100 °C); c_p: 4th-order fit to
      IAPWS-95 at 1 atm (≤ 0.1 %). These give the heat coefficient k(θ) = ρ·c_p/3600 an EN 1434
      calculator applies to water (the standard tabulates it from IAPWS-IF97).
    * Propylene glycol/water: ideal mixing of pure PG (ρ = 1054 − 0.72 θ, c_p = 2.47 + 0.005 θ) and
      water, plus an excess term k·w(1−w); volume % → mass fraction with both densities at 20 °C. -#}

{% macro water_density(theta) -%}
    (1000.0 * (1.0 - (({{ theta }}) + 288.9414) / (508929.2 * (({{ theta }}) + 68.12963)) * power(({{ theta }}) - 3.9863, 2)))
{%- endmacro %}

{% macro water_cp(theta) -%}
    (4.2174 - 3.720283e-3 * ({{ theta }}) + 1.412855e-4 * power(({{ theta }}), 2)
     - 2.654387e-6 * power(({{ theta }}), 3) + 2.093236e-8 * power(({{ theta }}), 4))
{%- endmacro %}

{#- PG mass fraction of a mixture given as % by volume. -#}
{% macro pg_mass_fraction(volume_pct) -%}
    (least(greatest(({{ volume_pct }}) / 100.0, 0.0), 1.0) * 1039.6
     / (least(greatest(({{ volume_pct }}) / 100.0, 0.0), 1.0) * 1039.6
        + (1.0 - least(greatest(({{ volume_pct }}) / 100.0, 0.0), 1.0)) * {{ water_density('20.0') }}))
{%- endmacro %}

{#- Mixture properties from the PG mass fraction `w` (a column, see pg_mass_fraction): models
    compute w once per row and pass the column, which keeps the SQL small. -#}
{% macro glycol_density_w(theta, w) -%}
    (1.0 / (({{ w }}) / (1054.0 - 0.72 * ({{ theta }})) + (1.0 - ({{ w }})) / {{ water_density(theta) }})
     + 93.0 * ({{ w }}) * (1.0 - ({{ w }})))
{%- endmacro %}

{% macro glycol_cp_w(theta, w) -%}
    ((1.0 - ({{ w }})) * {{ water_cp(theta) }} + ({{ w }}) * (2.47 + 0.0050 * ({{ theta }}))
     + 0.67 * ({{ w }}) * (1.0 - ({{ w }})))
{%- endmacro %}

{% macro glycol_density(theta, volume_pct) -%}
    {{ glycol_density_w(theta, pg_mass_fraction(volume_pct)) }}
{%- endmacro %}

{% macro glycol_cp(theta, volume_pct) -%}
    {{ glycol_cp_w(theta, pg_mass_fraction(volume_pct)) }}
{%- endmacro %}

{#- ρ [kg/m³] of water (glycol_pct none) or of the PG mixture. A glycol_pct ≤ 0 means water, as in Python. -#}
{% macro fluid_density(theta, glycol_pct=none) -%}
    {%- if glycol_pct is none -%}
        {{ water_density(theta) }}
    {%- else -%}
        (case when ({{ glycol_pct }}) <= 0 then {{ water_density(theta) }}
              else {{ glycol_density(theta, glycol_pct) }} end)
    {%- endif -%}
{%- endmacro %}

{% macro fluid_cp(theta, glycol_pct=none) -%}
    {%- if glycol_pct is none -%}
        {{ water_cp(theta) }}
    {%- else -%}
        (case when ({{ glycol_pct }}) <= 0 then {{ water_cp(theta) }}
              else {{ glycol_cp(theta, glycol_pct) }} end)
    {%- endif -%}
{%- endmacro %}

{#- Volumetric heat capacity ρ·c_p [kJ/(m³·K)] at θ; k(θ) = fluid_rho_cp / 3600 in kWh/(m³·K). -#}
{% macro fluid_rho_cp(theta, glycol_pct=none) -%}
    ({{ fluid_density(theta, glycol_pct) }} * {{ fluid_cp(theta, glycol_pct) }})
{%- endmacro %}

{#- Q = V̇·ρ(θ̄)·c_p(θ̄)·(θ_hot − θ_cold) / 3600 [kW], properties at the mean temperature (mcs.physics.thermal_power_kw). -#}
{% macro thermal_power_kw(flow_m3h, t_hot, t_cold, glycol_pct=none) -%}
    (({{ flow_m3h }}) * {{ fluid_rho_cp('((' ~ t_hot ~ ') + (' ~ t_cold ~ ')) / 2.0', glycol_pct) }}
     * (({{ t_hot }}) - ({{ t_cold }})) / 3600.0)
{%- endmacro %}
