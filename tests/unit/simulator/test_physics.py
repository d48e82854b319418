"""Fluid properties and Q = V̇·ρ·c_p·ΔT (mcs.physics) against the domain brief's worked figures."""

import pytest

from mcs.physics import fluid_rho_cp, glycol_cp, glycol_density, thermal_power_kw, water_cp, water_density


def test_water_properties_match_reference_values():
    # IAPWS-95 at 1 atm: 998.21 kg/m³ / 4.1816 kJ/kgK at 20 °C; 992.22 / 4.1785 at 40 °C.
    assert water_density(20.0) == pytest.approx(998.21, abs=0.1)
    assert water_density(40.0) == pytest.approx(992.22, abs=0.1)
    assert water_cp(20.0) == pytest.approx(4.1816, abs=0.005)
    assert water_cp(40.0) == pytest.approx(4.1785, abs=0.005)


def test_worked_heat_example_of_domain_7_3():
    # 10.0 m³/h, 40.0 / 26.5 °C → 156.3 kWt with constant ρ=997, c_p=4.18; temperature-dependent
    # properties at the 33 °C mean give 0.3 % less.
    assert thermal_power_kw(10.0, 40.0, 26.5) == pytest.approx(156.3, rel=0.01)


@pytest.mark.parametrize("pct", [30.0, 35.0, 40.0])
@pytest.mark.parametrize("theta", [30.0, 37.5, 45.0])
def test_glycol_in_design_ranges(pct, theta):
    # Domain §7.3: 30–40 % PG at 30–45 °C: ρ ≈ 1020–1035 kg/m³, c_p ≈ 3.7–3.9 kJ/(kg·K).
    assert 1015.0 <= glycol_density(theta, pct) <= 1035.0
    assert 3.65 <= glycol_cp(theta, pct) <= 3.9


def test_glycol_carries_less_heat_per_m3_than_water():
    rho_w, cp_w = fluid_rho_cp(40.0)
    rho_g, cp_g = fluid_rho_cp(40.0, 35.0)
    assert rho_g * cp_g < rho_w * cp_w
    assert glycol_cp(45.0, 35.0) > glycol_cp(30.0, 35.0)  # c_p rises with temperature
