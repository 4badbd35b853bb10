"""The retail screen the Live page and a store/dept page share: KPI cards, the weekly-sales chart, alerts
with their workflow, the latest points and the least healthy store/departments.

Every frame is handled in the browser (assets/js/pulse_live.js, pulse_live_chart.js): at up to ten
frames a second a server round trip per frame would be wasted work. The chart is extended in place
(`extendData`) and only rebuilt from a snapshot or for a new view (a range loads its history from
GET /api/v1/history and, when it ends now, carries on live). The alert list's Acknowledge/Resolve
buttons and its filters call the JSON API from the browser too (pulse_alerts.js).
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from components.alert_list import alert_filters, alert_list, register_alert_filters
from components.explore import PrefixedIds, ViewIds, register_view
from components.graph_config import GRAPH_CONFIG
from components.kpi_card import kpi_card
from components.live_socket import LiveSocket

CHART_MAX_POINTS = 600
CHANNELS = ["iot", "alerts", "kpis", "health", "notifications"]
# (KPI key in kpi_update, card title, hint, format understood by pulse_live.js)
KPIS = (
    ("avg_weekly_sales", "Avg weekly sales", "rolling window", "money"),
    ("max_weekly_sales", "Max", "rolling window", "money"),
    ("min_weekly_sales", "Min", "rolling window", "money"),
    ("volatility", "Volatility", "std / mean, %", "percent"),
    ("holiday_avg_sales", "Holiday avg", "holiday weeks", "money"),
    ("events_per_sec", "Events / s", "last 10 s", "rate"),
    ("anomaly_count", "Anomalies", "rolling window", "count"),
)
POINT_COLUMNS = ("Time", "Store / dept", "Weekly sales", "Temp.", "Anomaly score", "Cluster", "Risk")


class RetailIds(PrefixedIds):
    """The ids of one page's retail screen: `<prefix>-chart`, `<prefix>-kpi-<key>`, ..."""

    NAMES = ("chart", "chart_note", "alerts", "alert_status", "alert_priority", "alert_error", "points", "health",
             "health_chart", "updated", "render_config")

    def kpi(self, key: str) -> str:
        return f"{self.prefix}-kpi-{key}"


def initial_figure() -> go.Figure:
    fig = go.Figure([
        go.Scatter(name="Events", mode="markers", x=[], y=[], marker={"size": 5, "color": "#6c8ebf"},
                   hovertemplate="Store %{customdata[0]} · Dept %{customdata[1]}<br>%{y:$,.0f}<extra></extra>"),
        go.Scatter(name="Anomalies", mode="markers", x=[], y=[], marker={"size": 11, "symbol": "x", "color": "#d62728"},
                   hovertemplate="%{y:$,.0f} %{text}<extra>anomaly</extra>"),
        go.Scatter(name="Window average", mode="lines", x=[], y=[], line={"color": "#2ca02c", "width": 2}),
        go.Scatter(name="Min", mode="lines", x=[], y=[], line={"width": 0}, showlegend=False, hoverinfo="skip"),
        go.Scatter(name="Min-max per bucket", mode="lines", x=[], y=[], line={"width": 0}, fill="tonexty",
                   fillcolor="rgba(108, 142, 191, 0.18)", hoverinfo="skip"),
        go.Scatter(name="Mean per bucket", mode="lines", x=[], y=[], line={"color": "#3d6aa8", "width": 2},
                   hovertemplate="%{y:$,.0f} (%{text})<extra>mean</extra>"),
    ])
    fig.update_layout(template="plotly_white", height=340, margin={"l": 60, "r": 10, "t": 30, "b": 40},
                      legend={"orientation": "h", "y": 1, "yanchor": "bottom"}, uirevision="live",
                      xaxis_title=None, yaxis_title="Weekly sales")
    return fig


def card(title, body, note_id: str | None = None, **kwargs) -> dbc.Card:
    header = [html.Span(title, className="fw-semibold")]
    if note_id:
        header.append(html.Span(id=note_id, className="text-muted small ms-2 chart-note",
                                **{"data-testid": "chart-note"}))
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(body, className="p-1")], **kwargs)


def retail_view(ids: RetailIds, config: dict, health_chart: bool = False) -> list:
    """The screen below the header and view bar; `config` goes to the browser (render_config)."""
    chart = card("Weekly sales (anomalies marked)",
                 dcc.Graph(id=ids.chart, figure=initial_figure(), config=GRAPH_CONFIG), ids.chart_note)
    points = card("Latest points, newest first", html.Div(dbc.Table([
        html.Thead(html.Tr([html.Th(h) for h in POINT_COLUMNS])),
        html.Tbody(id=ids.points, **{"data-testid": "points-body"}),
    ], size="sm", hover=True, className="mb-0 points-table"), className="table-responsive",
        tabIndex=0, role="region", **{"aria-label": "Latest points (scrolls sideways)"}))
    health = card("Lowest health (store / dept)", html.Div(id=ids.health, className="health-list p-1"))
    rows = [
        dbc.Row([dbc.Col(kpi_card(ids.kpi(key), title, hint), xs=6, md=3, xl=True, className="mb-3")
                 for key, title, hint, _ in KPIS], className="g-3"),
        dbc.Row([
            dbc.Col(chart, lg=8, className="mb-3"),
            dbc.Col(alert_list(ids.alerts, filters=alert_filters(ids.alert_status, ids.alert_priority, ids.alert_error)),
                    lg=4, className="mb-3"),
        ], className="g-3"),
    ]
    if health_chart:
        rows.append(dbc.Row([
            dbc.Col(card("Health over time", dcc.Graph(id=ids.health_chart, config=GRAPH_CONFIG,
                                                       figure={"data": [], "layout": {"height": 240}})), lg=8, className="mb-3"),
            dbc.Col(health, lg=4, className="mb-3"),
        ], className="g-3"))
        rows.append(dbc.Row(dbc.Col(points, className="mb-3"), className="g-3"))
    else:
        rows.append(dbc.Row([dbc.Col(points, lg=8, className="mb-3"), dbc.Col(health, lg=4, className="mb-3")],
                            className="g-3"))
    ids_for_browser = ids.for_browser() if health_chart else ids.for_browser("health_chart")
    rows.append(dcc.Store(id=ids.render_config, data={
        "kind": "retail", "kpis": [{"key": k, "format": f, "id": ids.kpi(k)} for k, _, _, f in KPIS],
        "chart_max_points": CHART_MAX_POINTS, "table_rows": 20, "alert_rows": 20, "health_rows": 8,
        "alerts_url": "/api/alerts", "links": not config.get("fixed_entity"), "ids": ids_for_browser, **config}))
    return rows


def register(ids: RetailIds, view_ids: ViewIds, socket: str, filters: bool) -> None:
    """The screen's clientside callbacks, once per page module."""
    clientside_callback(
        ClientsideFunction("pulse_live", "render"),
        Output(ids.chart, "extendData"),
        Output(ids.chart, "figure"),
        Output(ids.updated, "children"),
        Input(LiveSocket.ids.frame(socket), "data"),
        State(ids.chart, "figure"),
        State(ids.render_config, "data"),
        State(ids.alert_status, "value"),
        State(ids.alert_priority, "value"),
        prevent_initial_call=True,
    )
    register_alert_filters(ids.alert_status, ids.alert_priority, ids.render_config)
    clientside_callback(   # a click on a point opens its store/dept
        ClientsideFunction("pulse_live_chart", "click"),
        Input(ids.chart, "clickData"),
        State(ids.render_config, "data"),
        prevent_initial_call=True,
    )
    register_view(view_ids, ids.render_config, LiveSocket.ids.config(socket), ids.chart, filters)
