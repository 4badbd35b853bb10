"""Live dashboard: KPI cards, the weekly-sales chart, alerts, latest points and entity health, fed by /ws.

Explorable (components/explore.py): filter by store and department (the socket carries the filter,
so the server sends only the selection, KPIs included), pick a time range (history from the API,
carrying on live when it ends now), pause, refresh, export the view as CSV; the view is in the
address (`/?store=5,7&dept=3&range=1h`). Clicking a point, an alert or a health row opens that
store/department's page (pages/entity.py). The screen itself is components/retail_view.py.
"""
from __future__ import annotations

from enum import StrEnum

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, clientside_callback, dcc, html
from flask_login import current_user

from components import explore
from components.page_header import page_header
from components.retail_view import CHANNELS, RetailIds, register, retail_view
from services.web.runtime_access import get_runtime

dash.register_page(__name__, path="/", name="Live", title="Live · Pulseboard", order=0)

SOCKET = "live"
IDS = RetailIds("live")
VIEW = explore.ViewIds("live")
FIELDS = ("store", "dept")


class Ids(StrEnum):
    choice = "live-choice"
    choose_live = "live-choose-live"


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


def known_entities() -> dict[str, set]:
    """The stores and departments the live state knows (every entity with a health record); empty
    when it cannot be read (the options then fall back to the usual ranges)."""
    try:
        health = get_runtime().snapshot(current_user.tenant)["health"]
    except Exception:                     # noqa: BLE001 - options are a convenience, never an error page
        health = []
    return {"store": {h["store"] for h in health if "store" in h}, "dept": {h["dept"] for h in health if "dept" in h}}


def layout(**query):
    selection = explore.selection_from_query(query, FIELDS)
    view = explore.view_from_query(query)
    known = known_entities()
    fallback = {"store": explore.STORE_RANGE, "dept": explore.DEPT_RANGE}
    filters = [(name, explore.entity_options(name, known[name] or fallback[name], selection[name]), selection[name])
               for name in FIELDS]
    config = get_runtime().config
    return dbc.Container([
        choice_panel(),
        page_header("Live dashboard", SOCKET, CHANNELS, IDS.updated, socket_filter=selection),
        explore.view_bar(VIEW, view, filters),
        *retail_view(IDS, {"page": "live", "path": "/", "fixed": {}, "filter_fields": list(FIELDS),
                           "view_ids": {"first": VIEW.first, "second": VIEW.second, "export": VIEW.export},
                           "raw_hours": config.history_raw_hours, "window_seconds": config.kpi_window_seconds}),
        dcc.Store(id=VIEW.selection, data=selection),
    ], fluid=True)


register(IDS, VIEW, SOCKET, filters=True)

clientside_callback(   # "Connect to live stream" just closes the panel: the page is already live
    "function (n) { return n ? false : window.dash_clientside.no_update; }",
    Output(Ids.choice, "is_open"),
    Input(Ids.choose_live, "n_clicks"),
    prevent_initial_call=True,
)
