"""Assets: the sensor profile's screen. Health per asset, the latest reading of every sensor, sensor alerts.

Fed by the same LiveSocket as the Live page (channels sensors, health, alerts) and rendered in the
browser (assets/js/pulse_assets.js): `sensor_update` messages are coalesced per sensor on the
server, so each frame carries at most one reading per sensor, the newest.
"""
from __future__ import annotations

from enum import StrEnum

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, clientside_callback, dcc, html

from components.live_socket import LiveSocket
from components.page_header import page_header

dash.register_page(__name__, path="/assets", name="Assets", title="Assets · Pulseboard", order=2)

SOCKET = "assets"


class Ids(StrEnum):
    health = "assets-health"
    readings = "assets-readings"
    alerts = "assets-alerts"
    updated = "assets-updated"
    render_config = "assets-render-config"


def layout(**_query):
    return dbc.Container([
        page_header("Assets", SOCKET, ["sensors", "health", "alerts", "notifications"], Ids.updated),
        dbc.Card([
            dbc.CardHeader("Health per asset, least healthy first", className="fw-semibold"),
            dbc.CardBody(html.Div(dbc.Spinner(size="sm", color="secondary"), id=Ids.health,
                                  className="asset-grid", **{"data-testid": "asset-health"})),
        ], className="mb-3"),
        dbc.Row([
            dbc.Col(dbc.Card([
                dbc.CardHeader("Latest reading of every sensor", className="fw-semibold"),
                dbc.CardBody(dbc.Table([
                    html.Thead(html.Tr([html.Th(h) for h in
                                        ("Asset", "Sensor", "Type", "Value", "Quality", "Risk", "Time")])),
                    html.Tbody(id=Ids.readings, **{"data-testid": "readings-body"}),
                ], size="sm", hover=True, className="mb-0 points-table"), className="p-1"),
            ]), lg=8, className="mb-3"),
            dbc.Col(dbc.Card([
                dbc.CardHeader("Sensor alerts, newest first", className="fw-semibold"),
                dbc.CardBody(html.Div(id=Ids.alerts, className="alert-list", **{"data-testid": "sensor-alerts"}),
                             className="p-2"),
            ], className="h-100"), lg=4, className="mb-3"),
        ], className="g-3"),
        dcc.Store(id=Ids.render_config, data={"alert_rows": 20}),
    ], fluid=True)


clientside_callback(
    ClientsideFunction("pulse_assets", "render"),
    Output(Ids.health, "children"),
    Output(Ids.readings, "children"),
    Output(Ids.alerts, "children"),
    Output(Ids.updated, "children"),
    Input(LiveSocket.ids.frame(SOCKET), "data"),
    dash.State(Ids.render_config, "data"),
    prevent_initial_call=True,
)
