"""Small plotly helpers shared by the analyst pages (one look, one place to change it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

RANGES = {"1 h": timedelta(hours=1), "6 h": timedelta(hours=6), "24 h": timedelta(days=1),
          "7 days": timedelta(days=7), "30 days": timedelta(days=30), "90 days": timedelta(days=90),
          "1 year": timedelta(days=365)}


def range_picker(key: str, default: str = "24 h") -> tuple[datetime, datetime]:
    """A preset window ending now (bounded: at most one year)."""
    choice = st.segmented_control("Range", list(RANGES), default=default, key=key) or default
    end = datetime.now(UTC).replace(microsecond=0)
    return end - RANGES[choice], end


PALETTE = px.colors.qualitative.Plotly


def line_figure(df: pd.DataFrame, title: str, y: str = "avg", colour: str = "tag", facet: str | None = None,
                height: int | None = None, band: bool = False, unit: str = "") -> dict:
    """Lines per `colour`, optionally one stacked panel per `facet` value (e.g. unit), shared time axis.

    Returned as a plain figure dict, validated once by st.plotly_chart: plotly.express costs ~170 ms
    per chart here (10 series), this ~10 ms (most of a trend page's render time when data is cached)."""
    facets = sorted(df[facet].dropna().unique()) if facet else [None]
    n = max(len(facets), 1)
    gap = 0.06 if n > 1 else 0.0
    size = (1.0 - gap * (n - 1)) / n
    layout: dict = {"title": {"text": title, "x": 0.01}, "height": height or (240 + 180 * n),
                    "margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "hovermode": "x unified",
                    "legend": {"title": {"text": ""}}, "xaxis": {"anchor": f"y{'' if n == 1 else n}"}}
    traces: list[dict] = []
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(sorted(df[colour].dropna().unique()))}
    for k, f in enumerate(facets):
        axis = "" if k == 0 else str(k + 1)
        top = 1.0 - k * (size + gap)
        layout[f"yaxis{axis}"] = {"domain": [max(top - size, 0.0), top], "title": {"text": f if facet else unit}}
        if k:
            layout[f"yaxis{axis}"]["anchor"] = "x"
        part = df if f is None else df[df[facet] == f]
        for name, g in part.groupby(colour, sort=True):
            g = g.sort_values("ts")
            if band:
                traces.append({"type": "scatter", "x": g["ts"], "y": g["max"], "mode": "lines", "line": {"width": 0},
                               "showlegend": False, "hoverinfo": "skip", "yaxis": f"y{axis}"})
                traces.append({"type": "scatter", "x": g["ts"], "y": g["min"], "mode": "lines", "line": {"width": 0},
                               "fill": "tonexty", "fillcolor": "rgba(120,120,120,0.15)", "showlegend": False,
                               "hoverinfo": "skip", "yaxis": f"y{axis}"})
            traces.append({"type": "scatter", "x": g["ts"], "y": g[y], "mode": "lines", "name": str(name),
                           "line": {"color": colours[name], "width": 1.6}, "yaxis": f"y{axis}"})
    return {"data": traces, "layout": layout}


def lines(df: pd.DataFrame, title: str, y: str = "avg", unit: str = "", height: int = 320,
          colour: str = "tag") -> go.Figure:
    return go.Figure(line_figure(df, title, y=y, colour=colour, height=height, unit=unit))


def wide(df: pd.DataFrame, value: str = "avg") -> pd.DataFrame:
    """ts × tag table (for derived series such as PHX approach or flow × ΔT)."""
    if df.empty:
        return pd.DataFrame()
    return df.pivot_table(index="ts", columns="tag", values=value, aggfunc="mean").sort_index()
