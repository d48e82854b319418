"""Loops 1–3, the plate heat exchanger and the dry cooler, as quasi-steady heat balances.

At each model step the plant is solved for the three valve arrangements (REJECT, EXPORT, MIXED)
so the mode machine can look at the loop-2 supply temperature each arrangement would give, and the
composition picks the one the machine is in. Every temperature is derived from a heat flow with
Q = V̇·ρ(θ)·c_p(θ)·ΔT (mcs.physics; glycol on loops 1–2, water on loop 3), so recomputing heat from
the published flows and temperatures returns the model's heat flows.

Sizing follows domain §1.4 (flows derived from the heat duty, not the reference's 5× too small
ranges): loop 2 runs ΔT 10 K at any load (VFD pumps), ≈ 86 m³/h at 1 MW; the host sets its flow
for a 40 °C supply; the HX is sized for a 5 K approach at design duty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcs.physics import capacity_rate_kw_per_k, flow_for_power_m3h

L2_DELTA_T = 10.0          # K, pump VFD control target
L2_RETURN_SET = 35.0       # °C, dry-cooler outlet target in REJECT
L2_SUPPLY_SET = 45.0       # °C, MIXED PID setpoint
HOST_SUPPLY_TARGET = 40.0  # °C, what the host's flow control aims for
L1_DELTA_T = 12.0          # K, CDU secondary (rack) design rise
PIPE_UA_KW_PER_K = 0.25    # loop-2 piping heat loss to outdoors
MIN_FLOW_FRACTION = 0.25


@dataclass(frozen=True)
class Sizing:
    design_heat_kw: float
    l2_design_flow: float     # m³/h
    hx_ua_clean: float        # kW/K
    dc_g_max: float           # kW/K, dry cooler conductance at full fans

    @classmethod
    def for_capacity(cls, it_capacity_kw: float, glycol_pct: float) -> Sizing:
        heat = 0.93 * it_capacity_kw
        flow = float(flow_for_power_m3h(heat, L2_DELTA_T, 40.0, glycol_pct))
        # HX: 5 K approach at design: host 28 → 40 °C, glycol 45 → 35 °C (counterflow ε-NTU).
        c_hot = heat / L2_DELTA_T
        c_cold = heat / (HOST_SUPPLY_TARGET - 28.0)
        c_min, c_max = min(c_hot, c_cold), max(c_hot, c_cold)
        eps = heat / (c_min * (L2_SUPPLY_SET - 28.0))
        cr = c_min / c_max
        ntu = np.log((1 - eps * cr) / (1 - eps)) / (1 - cr)
        # Dry cooler: rejects design heat at a 35 °C outlet from 27 °C (adiabatic) air.
        return cls(heat, flow, float(ntu * c_min), heat / 8.0)


def effectiveness_counterflow(ua: np.ndarray, c_a: np.ndarray, c_b: np.ndarray) -> np.ndarray:
    c_min = np.maximum(np.minimum(c_a, c_b), 1e-9)
    c_max = np.maximum(np.maximum(c_a, c_b), 1e-9)
    cr = np.clip(c_min / c_max, 0.0, 0.9999)
    ntu = ua / c_min
    e = np.exp(-ntu * (1 - cr))
    return (1 - e) / (1 - cr * e)


@dataclass
class Arrangement:
    """One valve arrangement's solution (arrays over time)."""

    t_l2s: np.ndarray
    t_l2r: np.ndarray
    export_fraction: np.ndarray    # share of loop-2 flow (and heat) through the HX
    q_export: np.ndarray
    q_reject: np.ndarray
    host_flow: np.ndarray          # loop 3, m³/h
    t_l3s: np.ndarray
    fan_fraction: np.ndarray       # dry-cooler fans 0..1


@dataclass
class LoopSolution:
    q_loop1: np.ndarray            # heat into loop 2 at the CDUs
    q_pipe: np.ndarray             # lost from loop-2 piping
    q_loop2: np.ndarray            # delivered to HX + dry cooler
    l2_flow: np.ndarray
    pump_fraction: np.ndarray
    host_return: np.ndarray
    reject: Arrangement
    export: Arrangement
    mixed: Arrangement


def _delta_t(q: np.ndarray, flow: np.ndarray, t_low: np.ndarray, glycol: float) -> np.ndarray:
    """ΔT that carries q at `flow` upward from t_low, properties at the mean (two fixed-point passes)."""
    dt = q / np.maximum(capacity_rate_kw_per_k(flow, t_low + 5.0, glycol), 1e-9)
    for _ in range(2):
        dt = q / np.maximum(capacity_rate_kw_per_k(flow, t_low + dt / 2.0, glycol), 1e-9)
    return dt


def _host_side(q_to_host: np.ndarray, host_cap: np.ndarray, host_ret: np.ndarray, cap_flow: bool):
    """Host flow and supply temperature for a given exported heat."""
    dt_target = np.maximum(HOST_SUPPLY_TARGET - host_ret, 3.0)
    wanted = host_cap if cap_flow else np.minimum(host_cap, q_to_host)
    flow = np.maximum(flow_for_power_m3h(wanted, dt_target, host_ret + dt_target / 2.0, 0.0), 0.0)
    t_l3s = host_ret + np.where(flow > 1e-6, _delta_t(q_to_host, np.maximum(flow, 1e-6), host_ret, 0.0), 0.0)
    return flow, t_l3s


def _dc_fans(q: np.ndarray, t_out: np.ndarray, t_air: np.ndarray, g_max: float) -> np.ndarray:
    approach = np.maximum(t_out - t_air, 0.5)
    return np.where(q > 1.0, np.clip(q / approach / g_max, 0.12, 1.0), 0.0)


def solve_loops(q_loop1: np.ndarray, t_amb: np.ndarray, t_air_eff: np.ndarray, host_cap: np.ndarray,
                host_ret: np.ndarray, hx_ua: np.ndarray, sizing: Sizing, glycol: float) -> LoopSolution:
    n = q_loop1.shape
    q_pipe = PIPE_UA_KW_PER_K * np.maximum(40.0 - t_amb, 0.0)
    q2 = np.maximum(q_loop1 - q_pipe, 0.0)
    flow = np.maximum(flow_for_power_m3h(q_loop1, L2_DELTA_T, 40.0, glycol), MIN_FLOW_FRACTION * sizing.l2_design_flow)
    pump = flow / sizing.l2_design_flow
    c2 = capacity_rate_kw_per_k(flow, 40.0, glycol)
    zeros, ones = np.zeros(n), np.ones(n)

    # REJECT: the dry cooler holds its outlet (loop-2 return) at 35 °C while it can.
    t_r = np.maximum(L2_RETURN_SET, t_air_eff + q2 / sizing.dc_g_max)
    t_s = t_r + _delta_t(q2, flow, t_r, glycol)
    reject = Arrangement(t_s, t_r, zeros, zeros, q2, zeros, host_ret + 0.0,
                         _dc_fans(q2, t_r, t_air_eff, sizing.dc_g_max))

    # EXPORT: all heat through the HX; the loop-2 supply floats to whatever pushes it across.
    h_flow, h_sup = _host_side(q2, host_cap, host_ret, cap_flow=False)
    c3 = capacity_rate_kw_per_k(np.maximum(h_flow, 1e-6), (host_ret + h_sup) / 2.0, 0.0)
    eps = effectiveness_counterflow(hx_ua, c2, c3)
    t_s = np.minimum(host_ret + q2 / np.maximum(eps * np.minimum(c2, c3), 1e-6), 95.0)
    t_r = t_s - _delta_t(q2, flow, t_s - q2 / c2, glycol)
    export = Arrangement(t_s, t_r, ones, q2, zeros, h_flow, h_sup, zeros)

    # MIXED: PID holds 45 °C; the HX branch takes the share x it can pass at 45 °C with the host's
    # full flow (equal ΔT on both branches), found by bisection. If the HX could take everything
    # below 45 °C the export valve is simply fully open.
    m_flow, _ = _host_side(q2, host_cap, host_ret, cap_flow=True)
    c3m = capacity_rate_kw_per_k(np.maximum(m_flow, 1e-6), host_ret + 6.0, 0.0)
    lo, hi = np.zeros(n), np.ones(n)
    for _ in range(30):
        x = (lo + hi) / 2.0
        c_hot = x * c2
        passed = effectiveness_counterflow(hx_ua, c_hot, c3m) * np.minimum(c_hot, c3m) * (L2_SUPPLY_SET - host_ret)
        too_little = passed > x * q2
        lo, hi = np.where(too_little, x, lo), np.where(too_little, hi, x)
    x = np.where(export.t_l2s <= L2_SUPPLY_SET, 1.0, (lo + hi) / 2.0)
    t_s = np.where(x >= 1.0, export.t_l2s, L2_SUPPLY_SET)
    t_r = t_s - _delta_t(q2, flow, t_s - q2 / c2, glycol)
    q_exp = x * q2
    mx_flow = np.where(x >= 1.0, h_flow, m_flow)
    mx_sup = host_ret + np.where(mx_flow > 1e-6, _delta_t(q_exp, np.maximum(mx_flow, 1e-6), host_ret, 0.0), 0.0)
    mixed = Arrangement(t_s, t_r, x, q_exp, q2 - q_exp, mx_flow, mx_sup,
                        _dc_fans(q2 - q_exp, t_r, t_air_eff, sizing.dc_g_max))
    return LoopSolution(q_loop1, q_pipe, q2, flow, pump, host_ret, reject, export, mixed)
