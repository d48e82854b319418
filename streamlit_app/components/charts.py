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


def lines(df: pd.DataFrame, title: str, y: str = "avg", unit: str = "", height: int = 320,
          colour: str = "tag") -> go.Figure:
    fig = px.line(df.sort_values("ts"), x="ts", y=y, color=colour, title=title, height=height)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend_title_text="",
                      yaxis_title=unit, xaxis_title="")
    return fig


def wide(df: pd.DataFrame, value: str = "avg") -> pd.DataFrame:
    """ts × tag table (for derived series such as PHX approach or flow × ΔT)."""
    if df.empty:
        return pd.DataFrame()
    return df.pivot_table(index="ts", columns="tag", values=value, aggfunc="mean").sort_index()
