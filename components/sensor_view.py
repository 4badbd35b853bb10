"""The sensor screen the Assets page and an asset's page share: health per asset, per-sensor history
charts, the latest reading of every sensor, and sensor alerts with their workflow.

Fed by a LiveSocket (channels sensors, health, alerts) and drawn in the browser straight into the
containers below, which have no children here (assets/js/pulse_assets.js): `sensor_update` messages are coalesced per sensor on the server, so
each frame carries at most one reading per sensor, the newest. The history charts
(assets/js/pulse_sensor_chart.js) draw each chosen sensor over the view's range from GET
/api/v1/history, one axis per sensor type with its unit, anomalies marked, carrying on live.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from components.alert_list import alert_filters, alert_list, register_alert_filters
from components.explore import PrefixedIds, ViewIds, register_view
from components.graph_config import GRAPH_CONFIG
from components.live_socket import LiveSocket
from components.retail_view import card

CHANNELS = ["sensors", "health", "alerts", "notifications"]
READING_COLUMNS = ("Asset", "Sensor", "Type", "Value", "Quality", "Anomaly score", "Risk", "Time")


class SensorIds(PrefixedIds):
    """The ids of one page's sensor screen: `<prefix>-health`, `<prefix>-chart`, ..."""

    NAMES = ("health", "readings", "alerts", "alert_status", "alert_priority", "alert_error", "chart", "chart_note",
             "health_chart", "updated", "render_config")


def empty_chart(text: str) -> dict:
    return {"data": [], "layout": {"height": 160, "xaxis": {"visible": False}, "yaxis": {"visible": False},
                                   "annotations": [{"text": text, "showarrow": False, "font": {"color": "#6c757d"}}],
                                   "paper_bgcolor": "#fff", "plot_bgcolor": "#fff", "margin": {"l": 10, "r": 10, "t": 10, "b": 10}}}


def sensor_view(ids: SensorIds, config: dict, entity: bool = False) -> list:
    """The screen below the header and view bar; `config` goes to the browser (render_config)."""
    hint = "Waiting for the sensors…" if entity else "Choose an asset or a sensor above (or open an asset) to see its history."
    history = card("Sensor history (each type on its own axis; anomalies marked)",
                   dcc.Graph(id=ids.chart, figure=empty_chart(hint), config=GRAPH_CONFIG), ids.chart_note)
    readings = card("Latest reading of every sensor", html.Div(dbc.Table([
        html.Thead(html.Tr([html.Th(h) for h in READING_COLUMNS])),
        html.Tbody(id=ids.readings, **{"data-testid": "readings-body"}),
    ], size="sm", hover=True, className="mb-0 points-table"), className="table-responsive",
        tabIndex=0, role="region", **{"aria-label": "Latest reading of every sensor (scrolls sideways)"}))
    alerts = alert_list(ids.alerts, title="Sensor alerts",
                        filters=alert_filters(ids.alert_status, ids.alert_priority, ids.alert_error))
    rows = [
        dbc.Card([
            dbc.CardHeader("Health per asset, least healthy first", className="fw-semibold"),
            dbc.CardBody(html.Div(id=ids.health, className="asset-grid waiting", **{"data-testid": "asset-health"})),
        ], className="mb-3"),
        dbc.Row(dbc.Col(history, className="mb-3"), className="g-3"),
    ]
    if entity:
        rows.append(dbc.Row(dbc.Col(card("Health over time", dcc.Graph(
            id=ids.health_chart, figure={"data": [], "layout": {"height": 240}}, config=GRAPH_CONFIG)), className="mb-3"), className="g-3"))
    rows.append(dbc.Row([dbc.Col(readings, lg=8, className="mb-3"), dbc.Col(alerts, lg=4, className="mb-3")],
                        className="g-3"))
    ids_for_browser = ids.for_browser() if entity else ids.for_browser("health_chart")
    rows.append(dcc.Store(id=ids.render_config, data={
        "kind": "sensor", "alert_rows": 20, "alerts_url": "/api/alerts", "sensor_only": True, "links": not entity,
        "testid": "sensor-alert", "chart_max_points": 300, "ids": ids_for_browser, **config}))
    return rows


def register(ids: SensorIds, view_ids: ViewIds, socket: str, filters: bool) -> None:
    """The screen's clientside callbacks, once per page module."""
    clientside_callback(
        ClientsideFunction("pulse_assets", "render"),
        Output(ids.updated, "children"),
        Input(LiveSocket.ids.frame(socket), "data"),
        State(ids.render_config, "data"),
        State(ids.alert_status, "value"),
        State(ids.alert_priority, "value"),
        prevent_initial_call=True,
    )
    register_alert_filters(ids.alert_status, ids.alert_priority, ids.render_config)
    register_view(view_ids, ids.render_config, LiveSocket.ids.config(socket), ids.chart, filters)
