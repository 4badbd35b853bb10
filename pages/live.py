"""Live dashboard: KPI cards, live chart, alerts, latest points and entity health, fed by /ws.

Every frame is handled in the browser (assets/js/pulse_live.js): at up to ten frames a second a
server round trip per frame would be wasted work. The chart is extended in place (`extendData`)
and only rebuilt from a snapshot, so no full figure is resent per frame. The alert list's
Acknowledge/Resolve buttons and its filters call the JSON API from the browser too (fetch), so no
Dash callback sits between a click and the API.
"""
from __future__ import annotations

from enum import StrEnum

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html
from flask_login import current_user

from components.alert_list import alert_filters, alert_list
from components.kpi_card import kpi_card
from components.live_socket import LiveSocket
from components.page_header import page_header

dash.register_page(__name__, path="/", name="Live", title="Live · Pulseboard", order=0)

SOCKET = "live"
CHART_MAX_POINTS = 600
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


class Ids(StrEnum):
    chart = "live-chart"
    alerts = "live-alerts"
    alert_status = "live-alert-status"
    alert_priority = "live-alert-priority"
    alert_error = "live-alert-error"
    points = "live-points"
    health = "live-health"
    updated = "live-updated"
    render_config = "live-render-config"
    choice = "live-choice"
    choose_live = "live-choose-live"


def kpi_id(key: str) -> str:
    return f"live-kpi-{key}"


def initial_figure() -> go.Figure:
    fig = go.Figure([
        go.Scatter(name="Events", mode="markers", x=[], y=[], marker={"size": 5, "color": "#6c8ebf"}),
        go.Scatter(name="Anomalies", mode="markers", x=[], y=[],
                     marker={"size": 11, "symbol": "x", "color": "#d62728"}),
        go.Scatter(name="Window average", mode="lines", x=[], y=[], line={"color": "#2ca02c", "width": 2}),
    ])
    fig.update_layout(template="plotly_white", height=340, margin={"l": 60, "r": 10, "t": 10, "b": 40},
                      legend={"orientation": "h", "y": 1.08}, uirevision="live",
                      xaxis_title=None, yaxis_title="Weekly sales")
    return fig


def choice_panel():
    """For admins: analyse a CSV offline, or carry on with the live stream (the default)."""
    if not (current_user.is_authenticated and current_user.is_admin):
        return html.Div()
    return dbc.Alert([
        html.Div("Start with your own data or with the live stream?", className="fw-semibold mb-2"),
        dbc.Button("Upload a CSV", href="/analysis", color="primary", size="sm", className="me-2"),
        dbc.Button("Connect to live stream", id=Ids.choose_live, color="outline-primary", size="sm"),
    ], id=Ids.choice, color="light", dismissable=True, persistence=True, persistence_type="local",
        className="choice-panel")


def layout(**_query):
    return dbc.Container([
        choice_panel(),
        page_header("Live dashboard", SOCKET, ["iot", "alerts", "kpis", "health", "notifications"], Ids.updated),
        dbc.Row([dbc.Col(kpi_card(kpi_id(key), title, hint), xs=6, md=3, xl=True, className="mb-3")
                 for key, title, hint, _ in KPIS], className="g-3"),
        dbc.Row([
            dbc.Col(dbc.Card([dbc.CardHeader("Weekly sales, live (anomalies marked)", className="fw-semibold"),
                              dbc.CardBody(dcc.Graph(id=Ids.chart, figure=initial_figure(),
                                                     config={"displaylogo": False}), className="p-1")]),
                    lg=8, className="mb-3"),
            dbc.Col(alert_list(Ids.alerts, filters=alert_filters(Ids.alert_status, Ids.alert_priority,
                                                                 Ids.alert_error)), lg=4, className="mb-3"),
        ], className="g-3"),
        dbc.Row([
            dbc.Col(dbc.Card([
                dbc.CardHeader("Latest points, newest first", className="fw-semibold"),
                dbc.CardBody(dbc.Table([
                    html.Thead(html.Tr([html.Th(h) for h in ("Time", "Store", "Dept", "Weekly sales", "Risk")])),
                    html.Tbody(id=Ids.points, **{"data-testid": "points-body"}),
                ], size="sm", hover=True, className="mb-0 points-table"), className="p-1"),
            ]), lg=8, className="mb-3"),
            dbc.Col(dbc.Card([
                dbc.CardHeader("Lowest health (store / dept)", className="fw-semibold"),
                dbc.CardBody(html.Div(id=Ids.health, className="health-list"), className="p-2"),
            ]), lg=4, className="mb-3"),
        ], className="g-3"),
        dcc.Store(id=Ids.render_config, data={
            "kpis": [{"key": k, "format": f} for k, _, _, f in KPIS],
            "chart_max_points": CHART_MAX_POINTS, "table_rows": 20, "alert_rows": 20, "health_rows": 8,
            "alerts_url": "/api/alerts", "ids": {"alerts": Ids.alerts, "alert_error": Ids.alert_error,
                                                    "points": Ids.points, "health": Ids.health}}),
    ], fluid=True)


clientside_callback(
    ClientsideFunction("pulse_live", "render"),
    *[Output(kpi_id(key), "children") for key, *_ in KPIS],
    Output(Ids.alerts, "children"),
    Output(Ids.chart, "extendData"),
    Output(Ids.chart, "figure"),
    Output(Ids.updated, "children"),
    Input(LiveSocket.ids.frame(SOCKET), "data"),
    State(Ids.chart, "figure"),
    State(Ids.render_config, "data"),
    State(Ids.alert_status, "value"),
    State(Ids.alert_priority, "value"),
    prevent_initial_call=True,
)

clientside_callback(   # a new filter: redraw from what is held, then ask the API for matching older alerts
    ClientsideFunction("pulse_live", "filter"),
    Output(Ids.alerts, "children", allow_duplicate=True),
    Input(Ids.alert_status, "value"),
    Input(Ids.alert_priority, "value"),
    State(Ids.render_config, "data"),
    prevent_initial_call=True,
)


clientside_callback(   # "Connect to live stream" just closes the panel: the page is already live
    "function (n) { return n ? false : window.dash_clientside.no_update; }",
    Output(Ids.choice, "is_open"),
    Input(Ids.choose_live, "n_clicks"),
    prevent_initial_call=True,
)
