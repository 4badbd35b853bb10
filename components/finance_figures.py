"""Plotly figures for the calculator pages, built from services.finance results (plain dicts).

Backgrounds are transparent and lines mid-grey, so a figure reads on the light and the dark colour
mode alike (assets/finance.css gives its text the page's colour in dark mode). `graph()` wraps a
figure for a page; before there is one, the page shows an empty state instead (finance_cards).
"""
from __future__ import annotations

import plotly.graph_objects as go
from dash import dcc, html

from components.graph_config import GRAPH_CONFIG

LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 30, "b": 45}, "height": 320,
          "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}
MARKER_LINE = "#868e96"          # reference lines: mid-grey reads on both colour modes


def graph(figure: go.Figure, label: str) -> dcc.Graph:
    """A figure on a page, in a container named for assistive technology (a `figure`, not an `img`: the chart
    holds focusable parts)."""
    return html.Div(dcc.Graph(figure=figure, config=GRAPH_CONFIG), className="finance-figure", role="figure",
                    **{"aria-label": label})


def npv_curve(curve: dict, rate: float) -> go.Figure:
    fig = go.Figure(go.Scatter(x=[r * 100 for r in curve["rates"]], y=curve["npv"], mode="lines", name="NPV",
                               line={"color": "#2c7be5", "width": 2}))
    crossings = [r for r in curve["zero_crossings"] if curve["rates"][0] <= r <= curve["rates"][-1]]
    if crossings:
        fig.add_trace(go.Scatter(x=[r * 100 for r in crossings], y=[0] * len(crossings), mode="markers+text",
                                 text=[f"IRR {r:.2%}" for r in crossings], textposition="top center",
                                 marker={"size": 10, "color": "#d62728"}, name="NPV = 0"))
    fig.add_hline(y=0, line={"color": MARKER_LINE, "width": 1})
    fig.add_vline(x=rate * 100, line={"color": MARKER_LINE, "dash": "dot"}, annotation_text="your rate")
    fig.update_layout(**LAYOUT, xaxis_title="Discount rate (%)", yaxis_title="NPV", showlegend=False)
    return fig


def tornado(result: dict) -> go.Figure:
    bars = list(reversed(result["bars"]))          # biggest swing on top
    base = result["base_npv"]
    names = [b["input"].replace("_", " ") for b in bars]
    fig = go.Figure([
        go.Bar(y=names, x=[b["low"] - base for b in bars], base=base, orientation="h", name=f"-{result['percent']:g}%",
               marker_color="#e74c3c"),
        go.Bar(y=names, x=[b["high"] - base for b in bars], base=base, orientation="h", name=f"+{result['percent']:g}%",
               marker_color="#2ecc71"),
    ])
    fig.add_vline(x=base, line={"color": MARKER_LINE}, annotation_text="base NPV")
    fig.update_layout(**LAYOUT, barmode="overlay", xaxis_title="NPV", legend={"orientation": "h", "y": 1.12})
    return fig


def two_way(result: dict) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=result["npv"], x=[f"{g:.1%}" for g in result["growths"]],
                               y=[f"{r:.1%}" for r in result["rates"]], colorscale="RdYlGn", zmid=0,
                               text=[[f"{v:,.0f}" for v in row] for row in result["npv"]], texttemplate="%{text}",
                               colorbar={"title": "NPV"}))
    fig.update_layout(**LAYOUT, xaxis_title="Growth per period", yaxis_title="Discount rate")
    return fig


def histogram(result: dict) -> go.Figure:
    edges, counts = result["histogram"]["edges"], result["histogram"]["counts"]
    centres = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
    fig = go.Figure(go.Bar(x=centres, y=counts, marker_color=["#e74c3c" if c < 0 else "#6c8ebf" for c in centres],
                           width=[b - a for a, b in zip(edges, edges[1:])], name="scenarios"))
    for label, key in (("P5", "p5"), ("P50", "p50"), ("P95", "p95")):
        fig.add_vline(x=result[key], line={"dash": "dash", "color": MARKER_LINE}, annotation_text=label)
    fig.update_layout(**LAYOUT, xaxis_title="NPV", yaxis_title="Scenarios", bargap=0)
    return fig
