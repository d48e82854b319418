"""What each instrument of the point schedule reads, given the plant state (tag → values).

`readings(model, frame, idx, t)` evaluates every modelled tag at sample times `t`, each inside
frame step `idx`: the plant state of that step, counters interpolated within the step at their
rate, plus measurement noise hashed from (seed, tag, time) so the same instant always reads the
same. Tags follow the reference point schedule (domain §2); racks, PDUs and CDUs follow the
block's rack count.
"""

from __future__ import annotations

import numpy as np

from mcs.physics import capacity_rate_kw_per_k, thermal_power_kw
from simulator.model import noise
from simulator.model.block import LIQUID_CAPTURE, BlockModel, Frame
from simulator.model.electrical import POWER_FACTOR, UPS_RATED_KW, pdu_groups
from simulator.model.it_load import rack_design_kw
from simulator.model.mode_fsm import Mode
from simulator.model.weather import ADIABATIC_ABOVE_C

SQRT3 = float(np.sqrt(3.0))
HOST_STANDBY_FLOW = 15.0   # m³/h the host circulates through the HX while we do not export


def cdu_groups(rack_count: int) -> list[list[int]]:
    half = -(-rack_count // 2)
    return [list(range(0, half)), list(range(half, rack_count))]


def readings(model: BlockModel, f: Frame, idx: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
    spec = model.spec
    seed = spec.block_seed
    idx = np.asarray(idx)
    t = np.asarray(t, dtype=np.float64)
    key = np.round(t * 10.0).astype(np.int64)
    ones = np.ones(len(t))

    def nz(tag: str, sd: float) -> np.ndarray:
        return sd * noise.normal(seed, noise.stream_id(tag), key)

    def slow(tag: str, period_s: float) -> np.ndarray:
        return noise.smooth(seed, noise.stream_id("slow", tag), t, period_s)

    def counter(name: str) -> np.ndarray:
        return f.counters[name][idx] + f.rates[name][idx] * (t - f.t[idx]) / 3600.0

    def b(x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    mode = f.mode[idx]
    a = f.active
    exporting = (mode == Mode.EXPORT) | (mode == Mode.MIXED)
    rejecting = ~(mode == Mode.EXPORT)
    d = f.disturbances
    t_l2s, t_l2r = a.t_l2s[idx], a.t_l2r[idx]
    x = a.export_fraction[idx]
    flow2 = f.loops.l2_flow[idx]
    c2 = capacity_rate_kw_per_k(flow2, (t_l2s + t_l2r) / 2.0, spec.glycol_pct)
    dry, wb, rh = f.weather.dry_bulb[idx], f.weather.wet_bulb[idx], f.weather.rh[idx]
    host = f.host
    host_ret = host.return_c[idx]
    racks = f.racks_kw[:, idx]
    e = f.elec
    out: dict[str, np.ndarray] = {}

    # --- electrical -------------------------------------------------------------------------
    volts = e.volts
    mains = ~np.full(len(t), d.mains_failure)
    meter_kw = e.meter_kw[idx] + nz("MET-01-kW", 0.4) * mains
    pf = np.where(mains, POWER_FACTOR + 0.006 * slow("pf", 3600.0), 0.0)
    kva = np.where(mains, meter_kw / np.maximum(pf, 0.5), 0.0)
    out["MET-01-kW"] = meter_kw
    out["MET-01-kVA"] = kva
    out["MET-01-kVAr"] = np.sqrt(np.maximum(kva**2 - meter_kw**2, 0.0))
    for ph in (1, 2, 3):
        v = np.where(mains, volts * (1.0 + 0.004 * slow(f"V{ph}", 1800.0)) + nz(f"MET-01-V-L{ph}", 0.3), 0.0)
        out[f"MET-01-V-L{ph}"] = v
        out[f"MET-01-A-L{ph}"] = kva * 1000.0 / (SQRT3 * volts) * (1.0 + 0.015 * (ph - 2)) + nz(f"A{ph}", 1.0) * mains
        out[f"MSB-01-V-L{ph}"] = v - 1.5 * mains
    out["MET-01-PF"] = pf
    out["MET-01-Hz"] = np.where(mains, spec.grid_hz + 0.015 * slow("hz", 600.0) + nz("hz", 0.005), 0.0)
    out["MET-01-kWh"] = counter("met_kwh")
    out["MET-01-THD-V"] = np.where(mains, 2.2 + 0.9 * e.tx_load_pct[idx] / 100.0 + nz("thd", 0.05), 0.0)
    tx_load = e.tx_load_pct[idx]
    tx_amb = dry + 4.0
    out["TX-01-T-pri"] = tx_amb + 28.0 + 45.0 * (tx_load / 100.0) ** 2 + nz("txp", 0.2)
    out["TX-01-T-sec"] = out["TX-01-T-pri"] - 4.0 + nz("txs", 0.2)
    out["TX-01-T-amb"] = tx_amb + nz("txa", 0.2)
    out["TX-01-load"] = tx_load
    out["TX-01-fan"] = b(tx_load > 75.0)
    out["MSB-01-A-total"] = kva / 1.002 * 1000.0 / (SQRT3 * volts)
    out["MSB-01-kW"] = e.msb_kw[idx] + nz("MSB-01-kW", 0.4) * mains
    out["MSB-01-T-bus"] = 28.0 + 25.0 * (tx_load / 100.0) ** 2 + 0.3 * dry / 10.0 + nz("bus", 0.2)
    out["MSB-01-main-CB"] = ones.copy()
    out["MSB-01-SPD"] = ones.copy()
    ups_out = e.ups_out_kw[idx]
    out["UPS-01-status"] = ones.copy()
    out["UPS-01-mode"] = np.where(mains, 2.0, 3.0)  # APC upsBasicOutputStatus: onLine / onBattery
    out["UPS-01-load"] = 100.0 * ups_out / (UPS_RATED_KW / 0.97 * POWER_FACTOR) + nz("upsl", 0.1)
    out["UPS-01-batt-V"] = 545.0 + nz("battv", 0.3)
    out["UPS-01-batt-pct"] = np.full(len(t), 100.0)
    out["UPS-01-runtime"] = np.floor(14.0 * (0.8 * UPS_RATED_KW / np.maximum(ups_out, 50.0)) ** 1.1)
    out["UPS-01-T-int"] = 23.0 + 4.0 * ups_out / UPS_RATED_KW + nz("upst", 0.1)
    out["UPS-01-V-in"] = np.where(mains, volts + nz("upsvi", 0.4), 0.0)
    out["UPS-01-V-out"] = volts + nz("upsvo", 0.2)
    out["UPS-01-kW-out"] = ups_out + nz("upskw", 0.3)
    out["UPS-01-on-batt"] = b(~mains)
    out["UPS-01-bypass"] = np.zeros(len(t))
    for p in range(1, len(pdu_groups(spec.rack_count)) + 1):
        kw = e.pdu_kw[p - 1, idx] + nz(f"PDU-{p:02d}-kW", 0.1)
        out[f"PDU-{p:02d}-kW"] = kw
        for ph in (1, 2, 3):
            out[f"PDU-{p:02d}-A-L{ph}"] = kw * 1000.0 / (SQRT3 * volts * 0.98) * (1 + 0.02 * (ph - 2))
        if p <= 3:
            out[f"PDU-{p:02d}-kWh"] = counter(f"pdu{p}_kwh")
        out[f"PDU-{p:02d}-V"] = volts - 3.0 + nz(f"pduv{p}", 0.3)
        out[f"PDU-{p:02d}-T"] = 27.0 + 10.0 * kw / 400.0 + nz(f"pdut{p}", 0.1)
    for r in range(spec.rack_count):
        out[f"RK-{r + 1:02d}-kW"] = racks[r] + nz(f"RK-{r + 1:02d}-kW", 0.15)
        out[f"RK-{r + 1:02d}-kWh"] = counter(f"rk{r + 1:02d}_kwh")
    out["ATS-01-pos"] = np.zeros(len(t))
    out["ATS-01-src"] = np.where(mains, 1.0, 0.0)

    # --- loop 1 -------------------------------------------------------------------------------
    design_cdu = spec.it_capacity_kw * LIQUID_CAPTURE / 2.0
    for c, group in enumerate(cdu_groups(spec.rack_count), start=1):
        q = LIQUID_CAPTURE * racks[group].sum(axis=0)
        tripped = d.cdu_trip == c
        pct = 60.0 + 30.0 * np.clip(q / design_cdu, 0.0, 1.0)
        flow1 = 44.0 * pct / 100.0
        c1 = capacity_rate_kw_per_k(flow1, t_l2r + 10.0, spec.glycol_pct)
        fac_s = t_l2r
        fac_r = fac_s + q / np.maximum(c2 / 2.0, 1e-6)
        sup = fac_s + 1.5 + 1.5 * q / design_cdu   # CDU approach 1.5–3 K
        ret = sup + q / c1
        out[f"TT-CDU{c}s"] = sup + nz(f"cdus{c}", 0.05)
        out[f"TT-CDU{c}r"] = ret + nz(f"cdur{c}", 0.05)
        out[f"FT-CDU{c}"] = np.where(tripped, 0.0, flow1 + nz(f"ftcdu{c}", 0.1))
        out[f"PT-CDU{c}"] = np.where(tripped, 0.0, 40.0 + 60.0 * (pct / 100.0) ** 2 + nz(f"ptcdu{c}", 0.3))
        out[f"TT-CDU{c}-fac-s"] = fac_s + nz(f"facs{c}", 0.05)
        out[f"TT-CDU{c}-fac-r"] = fac_r + nz(f"facr{c}", 0.05)
        out[f"CDU{c}-pump-pct"] = pct * (not tripped)
        out[f"CDU{c}-status"] = ones * (not tripped)
        per_rack_c = c1 / max(len(group), 1)
        for r in group:
            out[f"TT-R{r + 1:02d}-cool"] = sup + LIQUID_CAPTURE * racks[r] / per_rack_c + nz(f"rcool{r}", 0.1)

    # --- loop 2 ---------------------------------------------------------------------------------
    pump = np.clip(f.loops.pump_fraction[idx], 0.0, 1.1)
    pt_l2r = 190.0 + (t_l2r - 20.0)
    dp = 85.0 * pump**2
    out["TT-L2s"] = t_l2s + nz("TT-L2s", 0.05)
    out["TT-L2r"] = t_l2r + nz("TT-L2r", 0.05)
    out["FT-L2"] = flow2 + nz("FT-L2", 0.2)
    out["PT-L2s"] = pt_l2r + dp + nz("PT-L2s", 0.5)
    out["PT-L2r"] = pt_l2r + nz("PT-L2r", 0.5)
    out["PT-L2-dP"] = dp + nz("PT-L2-dP", 0.3)
    pump_kw = f.plant["pump_kw"][idx]
    duty, standby = (2, 1) if d.pump_trip else (1, 2)
    for n_, running in ((duty, True), (standby, False)):
        pre = f"PP{n_:02d}"
        out[f"{pre}-status"] = ones * running
        out[f"{pre}-speed"] = (100.0 * pump) * running
        out[f"{pre}-kW"] = (pump_kw + nz(f"{pre}kw", 0.03)) * running
        out[f"{pre}-hours"] = counter(f"pp{n_}_h")
        out[f"VIB-{n_:02d}"] = np.where(running, 2.3 + 0.5 * slow(f"vib{n_}", 6 * 3600.0) + nz(f"vib{n_}", 0.1), 0.2)
        out[f"TT-PP{n_:02d}-brg"] = np.where(running, 38.0 + 14.0 * pump + 0.15 * dry, 18.0 + 0.3 * dry)
        out[f"{pre}-fault"] = np.zeros(len(t))
    if d.pump_trip:
        out["PP01-fault"] = np.full(len(t), 12.0)   # VFD code 12: overcurrent trip
    t_mean = (t_l2s + t_l2r) / 2.0
    out["PT-EXP"] = pt_l2r - 12.0 + nz("PT-EXP", 0.3)
    out["LT-EXP"] = 50.0 + 0.9 * (t_mean - 40.0) + nz("LT-EXP", 0.1)
    out["TT-EXP"] = 30.0 + 0.3 * (t_l2r - 30.0) + nz("TT-EXP", 0.1)
    out["CT-pH"] = 8.0 + 0.08 * slow("ph", 86400.0)
    out["CT-uS"] = 1150.0 + 60.0 * slow("us", 3 * 86400.0)
    out["CT-glycol"] = spec.glycol_pct + 0.25 * slow("glycol", 5 * 86400.0)

    # --- heat exchanger, billing meter, loop 3 --------------------------------------------------------
    ua = model._hx_ua(t)
    fouling = model.sizing.hx_ua_clean / ua - 1.0
    stagnant = host_ret + 2.5
    # Not exporting, the host's pump still circulates loop 3 through the HX (no primary flow, no heat);
    # with the host pump off the loop stands still.
    circulating = host.hw_pump[idx] & (not d.host_demand_off)
    hx_p_in = np.where(exporting, t_l2s, np.where(circulating, host_ret + 1.0, stagnant + 1.0))
    hx_p_out = np.where(exporting, t_l2r, np.where(circulating, host_ret + 0.8, stagnant + 0.5))
    host_flow = np.where(exporting, a.host_flow[idx], np.where(circulating, HOST_STANDBY_FLOW, 0.0))
    t_l3s = np.where(exporting, a.t_l3s[idx], np.where(circulating, host_ret, stagnant))
    out["TT-HXpIn"] = hx_p_in + nz("hxpi", 0.05)
    out["TT-HXpOut"] = hx_p_out + nz("hxpo", 0.05)
    out["TT-HXsIn"] = host_ret + nz("hxsi", 0.05)
    out["TT-HXsOut"] = t_l3s + nz("hxso", 0.05)
    hx_dp = np.where(exporting, 18.0 * (x * flow2 / model.sizing.l2_design_flow) ** 2 * (1.0 + 2.0 * fouling), 0.0)
    out["PT-HXpIn"] = pt_l2r + dp - 6.0
    out["PT-HXpOut"] = out["PT-HXpIn"] - hx_dp
    out["PT-HX-dP"] = hx_dp + nz("hxdp", 0.1) * exporting
    out["TT-HX-approach"] = out["TT-HXpIn"] - out["TT-HXsOut"]
    ft_bil = np.maximum(host_flow + nz("FT-BIL", 0.05) * (host_flow > 0), 0.0)
    bil_s = t_l3s + nz("TT-BIL-s", 0.02)
    bil_r = host_ret + nz("TT-BIL-r", 0.02)
    out["FT-BIL"] = ft_bil
    out["TT-BIL-s"] = bil_s
    out["TT-BIL-r"] = bil_r
    out["MET-T1-kWt"] = np.maximum(thermal_power_kw(ft_bil, bil_s, bil_r, 0.0), 0.0)
    out["MET-T1-kWht"] = counter("heat_kwht")
    out["MET-T1-status"] = ones.copy()
    out["TT-L3s"] = t_l3s - 0.1 + nz("TT-L3s", 0.05)
    out["TT-L3r"] = host_ret + 0.1 + nz("TT-L3r", 0.05)
    out["PT-L3s"] = np.where(exporting, 240.0, 200.0) + nz("PT-L3s", 0.5)
    out["PT-L3r"] = np.where(exporting, 215.0, 200.0) + nz("PT-L3r", 0.5)
    out["FT-L3"] = np.maximum(host_flow + nz("FT-L3", 0.05) * (host_flow > 0), 0.0)
    out["V-ISO-ML-pos"] = 100.0 * (exporting | circulating)
    out["V-ISO-HOST-pos"] = np.full(len(t), 100.0)
    out["BFP-01-dP"] = 32.0 + 2.0 * slow("bfp", 86400.0)
    out["BFP-01-status"] = ones.copy()
    v_exp = np.select([mode == Mode.EXPORT, mode == Mode.MIXED], [100.0, 100.0 * x], 0.0)
    v_rej = np.select([mode == Mode.REJECT, mode == Mode.MIXED], [100.0, 100.0 * (1.0 - x)], 0.0)
    out["V-EXP-pos"], out["V-EXP-cmd"] = v_exp, v_exp.copy()
    out["V-REJ-pos"], out["V-REJ-cmd"] = v_rej, v_rej.copy()
    out["V-EXP-fault"] = np.zeros(len(t))
    out["V-REJ-fault"] = np.zeros(len(t))

    # --- dry cooler -------------------------------------------------------------------------------
    fan = a.fan_fraction[idx]
    out["TT-DCin"] = np.where(rejecting, t_l2s, dry + 3.0) + nz("TT-DCin", 0.05)
    out["TT-DCout"] = np.where(rejecting, t_l2r, dry + 1.0) + nz("TT-DCout", 0.05)
    out["TT-AMB"] = dry + nz("TT-AMB", 0.05)
    out["TT-AMB-wb"] = wb + nz("TT-AMB-wb", 0.05)
    out["RH-AMB"] = rh
    for k in range(1, 5):
        out[f"DC01-fan{k}-spd"] = np.round(1200.0 * fan + nz(f"fan{k}", 2.0) * (fan > 0))
    out["DC01-fan-fault"] = np.zeros(len(t))
    out["DC01-kW"] = f.plant["fans_kw"][idx]
    spray = rejecting & (dry > ADIABATIC_ABOVE_C) & (fan > 0)
    out["FT-SPRAY"] = np.where(spray, 0.5 + 2.5 * fan, 0.0)
    out["V-SPRAY-pos"] = np.where(spray, 30.0 + 60.0 * fan, 0.0)
    out["DC01-noise"] = 38.0 + 28.0 * fan + nz("noise", 0.3)

    # --- thermal safety ---------------------------------------------------------------------------
    for z in range(1, 5):
        leak = ones * (d.leak_zone == z)
        out[f"LD-0{z}a"], out[f"LD-0{z}b"] = leak, leak.copy()
    trace = dry < 3.0
    out["TT-FREEZE-L2"] = dry + 0.35 * (t_l2r - dry) + nz("fz2", 0.05)
    # Isolated loop 3 sits near ambient; trace heating holds it above 4 °C in frost.
    out["TT-FREEZE-L3"] = np.where(exporting, dry + 0.35 * (host_ret - dry), np.where(trace, np.maximum(dry + 4.0, 4.0),
                                                                                     dry + 4.0))
    out["TT-FREEZE-DC"] = np.where(rejecting, dry + 0.5 * (t_l2r - dry), dry + 1.0) + nz("fzdc", 0.05)
    out["TRACE-HEAT-L3"] = b(trace)
    out["PRV-L2-status"] = np.zeros(len(t))
    out["PRV-L3-status"] = np.zeros(len(t))
    out["PRV-L2-cycles"] = np.full(len(t), float(seed % 3))
    out["LD-BUND"] = np.maximum(1.5 + 0.4 * slow("bund", 86400.0), 0.0)
    out["LD-BUND-pump"] = np.zeros(len(t))
    out["PLC-SAFE-status"] = ones.copy()
    out["PLC-SAFE-mode"] = mode.astype(np.float64)
    out["PLC-SAFE-watchdog"] = np.floor(t * 10.0) % 65536.0
    out["PLC-SAFE-faults"] = np.zeros(len(t))

    # --- environmental --------------------------------------------------------------------------
    room = 23.0 + 1.2 * slow("room", 4 * 3600.0) + 0.03 * (dry - 10.0)
    inlets = []
    design = rack_design_kw(spec)
    for r in range(spec.rack_count):
        tin = room + 0.25 * (r % 5) + nz(f"rin{r}", 0.1)
        inlets.append(tin)
        out[f"TT-R{r + 1:02d}-in"] = tin
        out[f"TT-R{r + 1:02d}-out"] = tin + 6.0 + 10.0 * racks[r] / design
    out["RH-01"] = 45.0 + 5.0 * slow("rh1", 6 * 3600.0)
    out["RH-02"] = out["RH-01"] - 3.0 + nz("rh2", 0.2)
    out["DP-01"] = 6.0 + 1.0 * slow("dp", 1800.0) + nz("dp", 0.2)
    out["TT-ROOM-avg"] = np.mean(inlets, axis=0) if inlets else room

    # --- network, edge, security ------------------------------------------------------------------
    boot = spec.epoch_s - 86400.0 * (3 + seed % 40)
    out["SW-01-status"] = ones.copy()
    out["SW-01-uptime"] = (t - boot) / 3600.0
    daily = np.cos(2 * np.pi * (f.clock.hour[idx] - 14.0) / 24.0)
    out["SW-01-cpu"] = 18.0 + 6.0 * slow("cpu1", 3600.0) + 3.0 * daily
    out["SW-01-temp"] = 41.0 + 2.5 * slow("swt", 4 * 3600.0)
    out["SW-01-uplink1-bw"] = uplink_util_pct(t, 1)
    out["SW-01-uplink2-bw"] = uplink_util_pct(t, 2)
    out["SW-01-uplink1-status"] = ones.copy()
    out["SW-01-uplink2-status"] = ones.copy()
    out["SW-01-errors"] = np.floor((t - spec.epoch_s) / 600.0) % 65536.0
    out["SW-02-status"] = ones.copy()
    out["SW-02-cpu"] = 12.0 + 4.0 * slow("cpu2", 3600.0)
    out["NET-latency-cloud"] = 42.0 + 8.0 * slow("lat", 1800.0) + np.abs(nz("lat", 3.0))
    out["NET-packet-loss"] = np.abs(0.05 + nz("loss", 0.04))
    out["NET-vpn-status"] = ones.copy()
    out["NET-lte-signal"] = np.round(-84.0 + 3.0 * slow("lte", 3600.0))
    out["NET-lte-status"] = ones.copy()
    slot = np.floor(t / 1800.0).astype(np.int64)
    u = noise.uniform(seed, noise.stream_id("visit"), slot)
    hour, weekday = f.clock.hour[idx], f.clock.weekday[idx]
    visit = (weekday < 5) & (hour >= 8) & (hour < 17) & (u < 0.08)
    door_open = visit & (t - slot * 1800.0 < 300.0 + 600.0 * u / 0.08)
    out["SEC-DOOR-main"] = b(door_open)
    out["SEC-DOOR-rear"] = np.zeros(len(t))
    out["SEC-DOOR-tpm"] = b(door_open & (u < 0.025))
    out["SEC-PIR-01"] = b(door_open)
    out["SEC-PIR-02"] = b(door_open)
    for k in (1, 2, 3):
        out[f"SEC-CAM-0{k}"] = ones.copy()
    day = np.floor(t / 86400.0).astype(np.int64)
    out["SEC-ACCESS-last"] = 100.0 + np.floor(50.0 * noise.uniform(seed, noise.stream_id("card"), day))
    out["SEC-TAMPER"] = np.zeros(len(t))

    # --- host BMS, mode -----------------------------------------------------------------------------
    cap = np.where(d.host_demand_off, 0.0, host.capacity_kw[idx])
    demand = host.demand[idx] & (not d.host_demand_off)
    frac = np.clip(cap / host.peak_kw, 0.0, 1.0)
    out["TT-HOST-hw-supply"] = 60.0 + 1.5 * slow("hws", 3600.0)
    out["TT-HOST-hw-return"] = 44.0 + 4.0 * (1.0 - frac) + 0.8 * slow("hwr", 3600.0)
    out["TT-HOST-hw-tank"] = host.tank_c[idx]
    out["HOST-demand"] = b(demand)
    out["HOST-hw-pump"] = b(host.hw_pump[idx] & (not d.host_demand_off))
    exported = np.where(exporting, a.q_export[idx], 0.0)
    out["HOST-boiler"] = b(demand & (exported < 0.9 * cap))
    out["HOST-bms-online"] = ones.copy()
    out["HOST-cnb-mode"] = np.full(len(t), 3.0)
    out["MODE-current"] = mode.astype(np.float64)
    maint = mode == Mode.MAINTENANCE
    out["MODE-override"] = b(maint)
    out["MODE-override-by"] = np.where(maint, 417.0, 0.0)
    out["MODE-uptime-export"] = counter("mode_export_h")
    out["MODE-uptime-reject"] = counter("mode_reject_h")
    out["MODE-transitions"] = f.transition_count[idx].astype(np.float64)
    return out


_DAY_W = 2 * np.pi / 86400.0
_FAST_S = 97.0


def uplink_util_pct(t: np.ndarray, port: int) -> np.ndarray:
    """Uplink utilisation in % of link speed: a daily swell plus a fast wobble (peak ~14:00 UTC)."""
    base = 30.0 if port == 1 else 15.0
    return base + 8.0 * np.cos(_DAY_W * (t - 14 * 3600.0)) + 2.0 * np.sin(t / _FAST_S + port)


def uplink_integral_pct_s(t: float, port: int) -> float:
    """The exact time integral of uplink_util_pct [%·s]: octet counters are this divided by the scale
    (% per octet/s), so a 1 GbE ifInOctets at ~15 % wraps 2³² about every four minutes."""
    base = 30.0 if port == 1 else 15.0
    return float(base * t + 8.0 / _DAY_W * np.sin(_DAY_W * (t - 14 * 3600.0))
                 - 2.0 * _FAST_S * np.cos(t / _FAST_S + port))
