"""Plotly figures and AG Grid tables for the analysis page, built from services.analysis report dicts.

Figures have transparent backgrounds and grey text and grid lines, so they read on the light and the
dark theme alike. A file that mixes sensor types gets one panel per type, each with its own y axis
titled with the type and its unit: temperature and pressure never share a scale.
"""
from __future__ import annotations

from itertools import repeat

import dash_ag_grid as dag
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from components.formats import header

INK, GRID = "#8a9099", "rgba(138, 144, 153, 0.25)"
AXIS = {"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": GRID}
LAYOUT = {"template": "none", "height": 300, "margin": {"l": 55, "r": 10, "t": 40, "b": 40},
          "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)", "font": {"color": INK}}
PANEL_HEIGHT = 170


def _layout(fig: go.Figure, **extra) -> go.Figure:
    fig.update_layout(**{**LAYOUT, **extra})
    fig.update_xaxes(**AXIS)
    fig.update_yaxes(**AXIS)
    return fig


def sized(*figs) -> list:
    """Each figure and the element style that gives it its own height (a responsive graph takes the element's)."""
    return [part for fig in figs for part in (fig, {"height": f"{fig.layout.height}px"})]


def empty_figure(title: str = "") -> go.Figure:
    return _layout(go.Figure(), title=title)


def _panels(by_type: list[dict], title: str) -> go.Figure:
    """One row per sensor type, shared time axis, each y axis titled "temperature (°C)"."""
    fig = make_subplots(rows=len(by_type), cols=1, shared_xaxes=False, vertical_spacing=0.08,
                        subplot_titles=[part["label"] for part in by_type])
    return _layout(fig, title=title, height=90 + PANEL_HEIGHT * len(by_type), showlegend=False,
                   margin={**LAYOUT["margin"], "t": 70})


def over_time(report: dict, value_label: str) -> go.Figure:
    by_type = report["charts"].get("by_type") or []
    if by_type:
        fig = _panels(by_type, f"Mean {value_label} per {by_type[0]['over_time']['period']}, by sensor type")
        for row, part in enumerate(by_type, 1):
            data = part["over_time"]
            fig.add_trace(go.Scatter(x=data["start"], y=data["mean"], mode="lines+markers", name=part["label"],
                                     marker={"size": 4}), row=row, col=1)
            fig.update_yaxes(title_text=part["unit"] or "", row=row, col=1)
        return fig
    data = report["charts"]["over_time"]
    fig = go.Figure(go.Scatter(x=data["start"], y=data["total"], mode="lines+markers", name="Total",
                               marker={"size": 4}))
    partial = [i for i, whole in enumerate(data.get("complete") or []) if not whole]
    if partial:                       # a partial week's total is low because the data does not fill it
        fig.add_trace(go.Scatter(x=[data["start"][i] for i in partial], y=[data["total"][i] for i in partial],
                                 mode="markers", name=f"Partial {data['period']}",
                                 marker={"size": 10, "symbol": "circle-open", "color": INK}))
    if data.get("holiday"):
        xs = [x for x, h in zip(data["start"], data["holiday"]) if h]
        ys = [y for y, h in zip(data["total"], data["holiday"]) if h]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name="Holiday",
                                 marker={"size": 10, "symbol": "star", "color": "#f39c12"}))
    return _layout(fig, title=f"Total {value_label} per {data['period']}", legend={"orientation": "h"})


def ranking(report: dict, value_label: str) -> go.Figure:
    by_type = report["charts"].get("by_type") or []
    data = report["charts"]["ranking"]
    if not data["group"]:
        return empty_figure("No grouping column")
    if by_type:
        fig = _panels(by_type, f"Mean {value_label} by {data['group']}, by sensor type")
        for row, part in enumerate(by_type, 1):
            fig.add_trace(go.Bar(x=part["ranking"]["labels"], y=part["ranking"]["average"], name=part["label"],
                                 marker_color="#6c8ebf"), row=row, col=1)
            fig.update_xaxes(type="category", row=row, col=1)
            fig.update_yaxes(title_text=part["unit"] or "", row=row, col=1)
        return fig
    fig = go.Figure(go.Bar(x=data["labels"], y=data["total"], marker_color="#6c8ebf"))
    return _layout(fig, title=f"Total {value_label} by {data['group']} (top {len(data['labels'])})",
                   xaxis={"type": "category"})


def _histogram(data: dict, **trace) -> go.Bar:
    centres = [(a + b) / 2 for a, b in zip(data["edges"], data["edges"][1:])]
    return go.Bar(x=centres, y=data["counts"], marker_color="#2ca02c", **trace)


def distribution(report: dict, value_label: str) -> go.Figure:
    by_type = report["charts"].get("by_type") or []
    if by_type:
        fig = _panels(by_type, f"Distribution of {value_label}, by sensor type")
        for row, part in enumerate(by_type, 1):
            fig.add_trace(_histogram(part["distribution"], name=part["label"]), row=row, col=1)
            fig.update_xaxes(title_text=part["unit"] or "", row=row, col=1)
        return fig.update_layout(bargap=0.02)
    return _layout(go.Figure(_histogram(report["charts"]["distribution"])), title=f"Distribution of {value_label}",
                   bargap=0.02)


def _scatter_pair(sample: dict, top: list[dict], keep=lambda _label: True) -> list[go.Scatter]:
    points = [(t, v) for t, v, label in zip(sample["time"], sample["value"], sample.get("type") or repeat(None))
              if keep(label)]
    flagged = [a for a in top if keep(a.get("type"))]
    return [go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="markers", name="Rows (sample)",
                       marker={"size": 4, "color": "#adb5bd"}),
            go.Scatter(x=[a["time"] for a in flagged], y=[a["value"] for a in flagged], mode="markers",
                       name="Anomalies", marker={"size": 10, "symbol": "x", "color": "#d62728"},
                       text=[f"line {a['line']}" for a in flagged])]


def anomaly_scatter(report: dict, value_label: str, by_type: list[dict] | None = None) -> go.Figure:
    """The sample and the top anomalies over time; one panel per sensor type when `by_type` is given."""
    sample, top = report["sample"], report["anomalies"]["top"]
    title = f"Anomalies in {value_label} ({report['anomalies']['count']:,} flagged)"
    if by_type and sample.get("type"):
        fig = _panels(by_type, title)
        for row, part in enumerate(by_type, 1):
            for trace in _scatter_pair(sample, top, lambda label, want=part["label"]: label == want):
                fig.add_trace(trace, row=row, col=1)
            fig.update_yaxes(title_text=part["unit"] or "", row=row, col=1)
        return fig
    return _layout(go.Figure(_scatter_pair(sample, top)), title=title, legend={"orientation": "h"})


# -- tables --------------------------------------------------------------------------------------------
PERCENT = {"function": "pulsePercent(params.value)"}       # assets/js/pulse_upload.js -> pulseFormat.percent
NUMBER = {"function": "pulseNumber(params.value)"}


def column(field: str, kind: str = "text", **extra) -> dict:
    """A column definition: human header, numeric filter and right alignment for numbers."""
    spec = {"field": field, "headerName": header(field)}
    if kind in ("number", "percent"):
        spec.update(filter="agNumberColumnFilter", type="rightAligned",
                    valueFormatter=PERCENT if kind == "percent" else NUMBER)
    return {**spec, **extra}


def grid(grid_id: str, rows: list[dict], columns: list[dict], file_name: str) -> dag.AgGrid:
    """A sortable, filterable grid whose rows export as CSV (the button next to it sets exportDataAsCsv)."""
    return dag.AgGrid(
        id=grid_id, rowData=rows, columnDefs=columns, className="analysis-grid",
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 80},
        dashGridOptions={"domLayout": "autoHeight", "localeText": {"noRowsToShow": "Nothing to show."}},
        csvExportParams={"fileName": file_name, "processCellCallback": {"function": "pulseCsvCell(params)"}},
        columnSize="autoSize", style={"width": "100%"})
