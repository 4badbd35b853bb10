"""Plotly figures for the analysis page, built from the report dict of services.analysis.analyze."""
from __future__ import annotations

import plotly.graph_objects as go

LAYOUT = {"template": "plotly_white", "height": 300, "margin": {"l": 55, "r": 10, "t": 30, "b": 40}}


def empty_figure(title: str = "") -> go.Figure:
    return go.Figure(layout={**LAYOUT, "title": title})


def over_time(report: dict, value_label: str) -> go.Figure:
    data = report["charts"]["over_time"]
    fig = go.Figure(go.Scatter(x=data["start"], y=data["total"], mode="lines+markers", name="Total",
                               marker={"size": 4}))
    if data.get("holiday"):
        xs = [x for x, h in zip(data["start"], data["holiday"]) if h]
        ys = [y for y, h in zip(data["total"], data["holiday"]) if h]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name="Holiday",
                                 marker={"size": 10, "symbol": "star", "color": "#f39c12"}))
    fig.update_layout(**LAYOUT, title=f"Total {value_label} per {data['period']}", legend={"orientation": "h"})
    return fig


def ranking(report: dict, value_label: str) -> go.Figure:
    data = report["charts"]["ranking"]
    if not data["group"]:
        return empty_figure("No grouping column")
    fig = go.Figure(go.Bar(x=data["labels"], y=data["total"], marker_color="#6c8ebf"))
    fig.update_layout(**LAYOUT, title=f"Total {value_label} by {data['group']} (top {len(data['labels'])})",
                      xaxis={"type": "category"})
    return fig


def distribution(report: dict, value_label: str) -> go.Figure:
    data = report["charts"]["distribution"]
    centres = [(a + b) / 2 for a, b in zip(data["edges"], data["edges"][1:])]
    fig = go.Figure(go.Bar(x=centres, y=data["counts"], marker_color="#2ca02c"))
    fig.update_layout(**LAYOUT, title=f"Distribution of {value_label}", bargap=0.02)
    return fig


def anomaly_scatter(report: dict, value_label: str) -> go.Figure:
    sample, top = report["sample"], report["anomalies"]["top"]
    fig = go.Figure([
        go.Scatter(x=sample["time"], y=sample["value"], mode="markers", name="Rows (sample)",
                   marker={"size": 4, "color": "#adb5bd"}),
        go.Scatter(x=[a["time"] for a in top], y=[a["value"] for a in top], mode="markers", name="Anomalies",
                   marker={"size": 10, "symbol": "x", "color": "#d62728"},
                   text=[f"line {a['line']}" for a in top]),
    ])
    fig.update_layout(**LAYOUT, title=f"Anomalies in {value_label} ({report['anomalies']['count']:,} flagged)",
                      legend={"orientation": "h"})
    return fig
