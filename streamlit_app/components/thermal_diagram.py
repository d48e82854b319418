"""The three-loop thermal flow diagram (domain §1.4) as a plotly figure with live values.

racks ⇄ loop 1 ⇄ CDUs ⇄ loop 2 (supply header → V-EXP → HX → host loop 3, or → V-REJ → dry
cooler) → return header ⇄ pumps. Pipes are coloured by their temperature (blue 20 °C → red 55 °C)
and drawn thicker with more flow; the valves show their position, the path the mode does not use
is dashed. Drawn with shapes and lines rather than a Sankey so that the geometry matches the
plant an operator knows from the P&ID.
"""

from __future__ import annotations

import math

T_COLD, T_HOT = 20.0, 55.0


def temp_colour(t: float | None) -> str:
    if t is None or math.isnan(t):
        return "#9e9e9e"
    x = min(max((t - T_COLD) / (T_HOT - T_COLD), 0.0), 1.0)
    # blue (33, 102, 172) → amber (253, 174, 97) → red (178, 24, 43)
    if x < 0.5:
        a, b, f = (33, 102, 172), (253, 174, 97), x / 0.5
    else:
        a, b, f = (253, 174, 97), (178, 24, 43), (x - 0.5) / 0.5
    r, g, bl = (round(a[i] + (b[i] - a[i]) * f) for i in range(3))
    return f"rgb({r},{g},{bl})"


def _v(values: dict[str, float], tag: str) -> float | None:
    v = values.get(tag)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _fmt(v: float | None, unit: str, digits: int = 1) -> str:
    return "—" if v is None else f"{v:.{digits}f} {unit}"


def _avg(*vals: float | None) -> float | None:
    got = [v for v in vals if v is not None]
    return sum(got) / len(got) if got else None


def thermal_figure(values: dict[str, float], mode: str = "UNKNOWN", height: int = 430) -> dict:
    """The diagram as a plotly figure *dict*. Shapes, annotations and traces are collected as plain
    dicts: plotly's add_annotation/add_shape re-validate every earlier item (quadratic, ~400 ms for
    this figure), and st.plotly_chart validates whatever it is given once more, so building a
    go.Figure here would only pay for validation twice. Wrap in go.Figure() to inspect it."""
    traces: list[dict] = []
    shapes: list[dict] = []
    annotations: list[dict] = []
    v = lambda tag: _v(values, tag)  # noqa: E731

    def pipe(xs: list[float], ys: list[float], temp: float | None, flow: float | None, label: str,
             dashed: bool = False) -> None:
        width = 3 + min(max((flow or 0.0) / 15.0, 0.0), 7.0)
        traces.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines", "hoverinfo": "text",
                       "showlegend": False, "text": f"{label}: {_fmt(temp, '°C')}, {_fmt(flow, 'm³/h')}",
                       "line": {"color": temp_colour(temp), "width": width, "dash": "dash" if dashed else "solid"}})

    def box(x0: float, y0: float, x1: float, y1: float, title: str, lines: list[str], colour: str) -> None:
        shapes.append({"type": "rect", "x0": x0, "y0": y0, "x1": x1, "y1": y1, "line": {"color": colour, "width": 2},
                       "fillcolor": "rgba(255,255,255,0.9)", "layer": "above"})
        annotations.append({"x": (x0 + x1) / 2, "y": y1 - 1.8, "text": f"<b>{title}</b>", "showarrow": False,
                            "font": {"size": 13}})
        for i, line in enumerate(lines):
            annotations.append({"x": (x0 + x1) / 2, "y": y1 - 5.2 - 3.3 * i, "text": line, "showarrow": False,
                                "font": {"size": 11}})

    def label(x: float, y: float, text: str) -> None:
        annotations.append({"x": x, "y": y, "text": text, "showarrow": False, "font": {"size": 11},
                            "bgcolor": "rgba(255,255,255,0.85)"})

    exporting = mode in ("EXPORT", "MIXED")
    rejecting = mode in ("REJECT", "MIXED", "UNKNOWN")
    l1s, l1r = _avg(v("TT-CDU1s"), v("TT-CDU2s")), _avg(v("TT-CDU1r"), v("TT-CDU2r"))
    l1_flow = sum(f for f in (v("FT-CDU1"), v("FT-CDU2")) if f is not None) or None
    l2s, l2r, l2f = v("TT-L2s"), v("TT-L2r"), v("FT-L2")
    l3s, l3r, l3f = _avg(v("TT-L3s"), v("TT-HXsOut")), _avg(v("TT-L3r"), v("TT-HXsIn")), v("FT-L3") or v("FT-BIL")
    vexp, vrej = v("V-EXP-pos"), v("V-REJ-pos")
    exp_flow = (l2f or 0.0) * (vexp or 0.0) / 100.0 if l2f is not None else None
    rej_flow = (l2f or 0.0) * (vrej or 0.0) / 100.0 if l2f is not None else None

    # Loop 1: racks <-> CDUs
    pipe([14, 24], [44, 44], l1r, l1_flow, "Loop 1 return from racks")
    pipe([24, 14], [24, 24], l1s, l1_flow, "Loop 1 supply to racks")
    label(19, 47, f"L1 ret {_fmt(l1r, '°C')}")
    label(19, 21, f"L1 sup {_fmt(l1s, '°C')}")
    # Loop 2 supply header and branches
    pipe([34, 50], [44, 44], l2s, l2f, "Loop 2 supply header TT-L2s")
    pipe([50, 50, 62], [44, 50, 50], l2s, exp_flow, "to HX via V-EXP", dashed=not exporting)
    pipe([50, 50, 62], [44, 14, 14], l2s, rej_flow, "to dry cooler via V-REJ", dashed=not rejecting)
    pipe([68, 68, 34], [42, 32, 32], l2r, l2f, "Loop 2 return header TT-L2r")
    pipe([68, 68], [22, 32], v("TT-DCout"), rej_flow, "dry cooler outlet", dashed=not rejecting)
    label(42, 47, f"TT-L2s {_fmt(l2s, '°C')}")
    label(42, 29, f"TT-L2r {_fmt(l2r, '°C')} · FT-L2 {_fmt(l2f, 'm³/h')}")
    # Valves
    for x, y, name, pos in ((56, 50, "V-EXP", vexp), (56, 14, "V-REJ", vrej)):
        traces.append({"type": "scatter", "x": [x], "y": [y], "mode": "markers", "showlegend": False,
                       "hoverinfo": "text", "text": f"{name} {_fmt(pos, '%', 0)} open",
                       "marker": {"symbol": "bowtie", "size": 20, "color": "#37474f"}})
        label(x, y + 3.5, f"{name} {_fmt(pos, '%', 0)}")
    # Loop 3: HX <-> host
    pipe([74, 86], [54, 54], l3s, l3f, "Loop 3 supply to host", dashed=not exporting)
    pipe([86, 74], [44, 44], l3r, l3f, "Loop 3 return from host", dashed=not exporting)
    label(80, 57, f"L3 sup {_fmt(l3s, '°C')}")
    label(80, 41, f"L3 ret {_fmt(l3r, '°C')} · {_fmt(l3f, 'm³/h')}")
    # Equipment
    it_kw = sum(x for x in (v("PDU-01-kW"), v("PDU-02-kW"), v("PDU-03-kW")) if x is not None) or None
    box(2, 18, 14, 50, "Racks", [f"IT {_fmt(it_kw, 'kW', 0)}", "DLC cold plates"], "#455a64")
    box(24, 18, 34, 50, "CDUs", [f"flow {_fmt(l1_flow, 'm³/h')}", f"PP-01 {_fmt(v('PP01-speed'), '%', 0)}"],
        "#455a64")
    approach = v("TT-HX-approach")
    if approach is None and v("TT-HXpIn") is not None and v("TT-HXsOut") is not None:
        approach = v("TT-HXpIn") - v("TT-HXsOut")  # type: ignore[operator]
    box(62, 42, 74, 58, "HX-01", [f"approach {_fmt(approach, 'K')}", f"{_fmt(v('MET-T1-kWt'), 'kWt', 0)}"],
        "#2e7d32" if exporting else "#9e9e9e")
    box(62, 4, 74, 22, "Dry cooler", [f"out {_fmt(v('TT-DCout'), '°C')}", f"amb {_fmt(v('TT-AMB'), '°C')}",
                                      f"fans {_fmt(v('DC01-kW'), 'kW', 0)}"],
        "#1565c0" if rejecting else "#9e9e9e")
    demand = v("HOST-demand")
    box(86, 40, 98, 58, "Host", [f"demand {'on' if demand and demand >= 0.5 else 'off'}",
                                 f"tank {_fmt(v('TT-HOST-hw-tank'), '°C')}"], "#6d4c41")
    layout = {"height": height, "margin": {"l": 4, "r": 4, "t": 30, "b": 4}, "plot_bgcolor": "white",
              "title": {"text": f"Thermal loops — mode {mode}", "x": 0.01, "font": {"size": 14}},
              "xaxis": {"visible": False, "range": [0, 100], "fixedrange": True},
              "yaxis": {"visible": False, "range": [0, 62], "fixedrange": True},
              "shapes": shapes, "annotations": annotations}
    return {"data": traces, "layout": layout}
