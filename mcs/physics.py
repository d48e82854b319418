"""Heat-transfer fluid properties and thermal power, shared by the simulator, dbt and the app.

Loop 1 and loop 2 carry a propylene-glycol/water mixture (35 % PG nominal), loop 3 clean water.
Heat is Q = V̇·ρ(θ)·c_p(θ)·ΔT with properties at the mean temperature of the two measurements.

Sources and accuracy (pure functions of temperature in °C; numpy arrays or floats):

* Water density: Thiesen–Scheel–Diesselhorst equation (as used in NIST/ITS-90 water-density
  tables), within 0.02 % of IAPWS-95 over 0–100 °C at 1 atm.
* Water specific heat: 4th-order polynomial fit to IAPWS-95 isobaric heat capacity at 1 atm,
  within 0.1 % over 0–100 °C.
* Pure propylene glycol: ρ = 1054.0 − 0.72·θ kg/m³ (1.036 g/ml at 25 °C, Dow "A Guide to
  Glycols"), c_p = 2.47 + 0.0050·θ kJ/(kg·K) (Dow / NIST condensed-phase data, 0–90 °C).
* PG/water mixtures: ideal mixing plus an excess term k·w·(1−w) in both ρ and c_p, with k
  calibrated so that 30–40 % PG at 30–45 °C gives ρ ≈ 1020–1035 kg/m³ and c_p ≈ 3.7–3.9
  kJ/(kg·K), the design ranges in the domain brief (§7.3, ASHRAE Fundamentals ch. 31 order of
  magnitude). Good to ~1–2 % there — a plausibility cross-check, not a billing calculator (the
  certified heat meter's own register is the billing quantity).

Concentrations are given the way site chemistry reports them (`CT-glycol`, % by volume) and
converted to mass fraction with the pure-component densities at 20 °C.

The same correlation is reproduced in dbt (macro `fluid_rho_cp`): change both together.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

Num = TypeVar("Num", float, np.ndarray)

KJ_PER_KWH = 3600.0
PG_RHO_20C = 1054.0 - 0.72 * 20.0
PG_EXCESS_RHO = 93.0    # kg/m³ · w(1−w): volume contraction on mixing
PG_EXCESS_CP = 0.67     # kJ/(kg·K) · w(1−w)


def water_density(theta_c: Num) -> Num:
    """Density of liquid water at 1 atm [kg/m³] (Thiesen equation)."""
    t = theta_c
    return 1000.0 * (1.0 - (t + 288.9414) / (508929.2 * (t + 68.12963)) * (t - 3.9863) ** 2)


def water_cp(theta_c: Num) -> Num:
    """Isobaric specific heat of liquid water at 1 atm [kJ/(kg·K)]."""
    t = theta_c
    return 4.2174 - 3.720283e-3 * t + 1.412855e-4 * t**2 - 2.654387e-6 * t**3 + 2.093236e-8 * t**4


def pg_mass_fraction(volume_pct: float) -> float:
    """PG mass fraction of a mixture given as % by volume (chemistry sensors report volume %)."""
    phi = min(max(volume_pct / 100.0, 0.0), 1.0)
    water_rho_20c = float(water_density(20.0))
    m_pg = phi * PG_RHO_20C
    return m_pg / (m_pg + (1.0 - phi) * water_rho_20c)


def glycol_density(theta_c: Num, volume_pct: float) -> Num:
    """Density of a propylene-glycol/water mixture [kg/m³]."""
    w = pg_mass_fraction(volume_pct)
    rho_pg = 1054.0 - 0.72 * theta_c
    ideal = 1.0 / (w / rho_pg + (1.0 - w) / water_density(theta_c))
    return ideal + PG_EXCESS_RHO * w * (1.0 - w)


def glycol_cp(theta_c: Num, volume_pct: float) -> Num:
    """Specific heat of a propylene-glycol/water mixture [kJ/(kg·K)]."""
    w = pg_mass_fraction(volume_pct)
    cp_pg = 2.47 + 0.0050 * theta_c
    return (1.0 - w) * water_cp(theta_c) + w * cp_pg + PG_EXCESS_CP * w * (1.0 - w)


def fluid_rho_cp(theta_c: Num, glycol_pct: float = 0.0) -> tuple[Num, Num]:
    """(ρ [kg/m³], c_p [kJ/(kg·K)]) of water (glycol_pct 0) or a PG mixture at θ."""
    if glycol_pct <= 0.0:
        return water_density(theta_c), water_cp(theta_c)
    return glycol_density(theta_c, glycol_pct), glycol_cp(theta_c, glycol_pct)


def capacity_rate_kw_per_k(flow_m3h: Num, theta_c: Num, glycol_pct: float = 0.0) -> Num:
    """Heat-capacity rate C = V̇·ρ·c_p of a stream [kW/K]."""
    rho, cp = fluid_rho_cp(theta_c, glycol_pct)
    return flow_m3h * rho * cp / KJ_PER_KWH


def thermal_power_kw(flow_m3h: Num, t_hot_c: Num, t_cold_c: Num, glycol_pct: float = 0.0) -> Num:
    """Heat carried by a stream between two temperatures, Q = V̇·ρ·c_p·ΔT [kW].

    Properties at the mean temperature; a volumetric meter measures V̇ at one of the two
    temperatures, the difference (≈0.2 % for 10 K in water) is inside a class-2 heat meter's error.
    """
    mean = (t_hot_c + t_cold_c) / 2.0
    return capacity_rate_kw_per_k(flow_m3h, mean, glycol_pct) * (t_hot_c - t_cold_c)


def flow_for_power_m3h(power_kw: Num, delta_t_k: Num, theta_c: Num, glycol_pct: float = 0.0) -> Num:
    """The volumetric flow [m³/h] that carries `power_kw` at a temperature difference `delta_t_k`."""
    rho, cp = fluid_rho_cp(theta_c, glycol_pct)
    return power_kw * KJ_PER_KWH / (rho * cp * delta_t_k)
