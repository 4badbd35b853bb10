"""Market: the live market-data feed. A card per indicator (value, change since the open, sparkline)
and a history chart of the indicator you pick; everything redrawn from the snapshot after a reload.

Frames are rendered in the browser (assets/js/pulse_market.js); the page keeps the history it has
seen in a store so the chart can switch indicators without asking the server.
"""
from __future__ import annotations

from enum import StrEnum

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from components.graph_config import GRAPH_CONFIG
from components.live_socket import LiveSocket
from components.page_header import page_header

dash.register_page(__name__, path="/market", name="Market", title="Market · Pulseboard", order=3)

SOCKET = "market"
# (indicator in market_update.values, card title, format understood by pulse_market.js)
INDICATORS = (
    ("discount_rate", "Discount rate", "percent"),
    ("inflation_rate", "Inflation", "percent"),
    ("market_growth", "Market growth", "percent"),
    ("technology_index", "Technology index", "index"),
    ("ai_adoption_rate", "AI adoption", "percent"),
)
SPARK_CONFIG = {"displayModeBar": False, "staticPlot": True}


class Ids(StrEnum):
    history = "market-history"
    history_data = "market-history-data"
    indicator = "market-indicator"
    updated = "market-updated"
    render_config = "market-render-config"


def value_id(key: str) -> str:
    return f"market-value-{key}"


def change_id(key: str) -> str:
    return f"market-change-{key}"


def spark_id(key: str) -> str:
    return f"market-spark-{key}"


def card(key: str, title: str) -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.Div(title, className="kpi-title text-body-secondary"),
        html.Div(dbc.Spinner(size="sm", color="secondary"), id=value_id(key), className="kpi-value",
                 **{"data-testid": "market-value"}),
        html.Div("", id=change_id(key), className="small text-body-secondary", **{"data-testid": "market-change"}),
        dcc.Graph(id=spark_id(key), config=SPARK_CONFIG, className="sparkline",
                  figure={"data": [], "layout": {"height": 48, "margin": {"l": 0, "r": 0, "t": 2, "b": 2}}}),
    ]), className="kpi-card h-100")


def layout(**_query):
    return dbc.Container([
        page_header("Market", SOCKET, ["market", "notifications"], Ids.updated),
        dbc.Row([dbc.Col(card(key, title), xs=6, md=4, xl=True, className="mb-3") for key, title, _ in INDICATORS],
                className="g-3"),
        dbc.Card([
            dbc.CardHeader(dbc.Row([
                dbc.Col(dbc.Label("History of", html_for=Ids.indicator, className="fw-semibold mb-0"), width="auto"),
                dbc.Col(dbc.Select(id=Ids.indicator, options=[{"label": t, "value": k} for k, t, _ in INDICATORS],
                                   value="discount_rate", style={"minWidth": "14rem"}), width="auto"),
            ], className="align-items-center g-2")),
            dbc.CardBody(dcc.Graph(id=Ids.history, config=GRAPH_CONFIG), className="p-1 market-figure"),
        ]),
        dcc.Store(id=Ids.history_data),
        dcc.Store(id=Ids.render_config, data={"indicators": [{"key": k, "format": f} for k, _, f in INDICATORS],
                                              "labels": {k: t for k, t, _ in INDICATORS}}),
    ], fluid=True)


clientside_callback(
    ClientsideFunction("pulse_market", "render"),
    *[Output(value_id(key), "children") for key, *_ in INDICATORS],
    *[Output(change_id(key), "children") for key, *_ in INDICATORS],
    *[Output(spark_id(key), "figure") for key, *_ in INDICATORS],
    Output(Ids.history_data, "data"),
    Output(Ids.updated, "children"),
    Input(LiveSocket.ids.frame(SOCKET), "data"),
    State(Ids.render_config, "data"),
    prevent_initial_call=True,
)

clientside_callback(
    ClientsideFunction("pulse_market", "history"),
    Output(Ids.history, "figure"),
    Input(Ids.history_data, "data"),
    Input(Ids.indicator, "value"),
    State(Ids.render_config, "data"),
)
