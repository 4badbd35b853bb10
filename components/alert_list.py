"""Alert list: newest first, coloured by priority, each with the human "why" and its workflow status.

The list itself is drawn in the browser (assets/js/pulse_alerts.js) from alert messages, straight
into the container (which therefore has no children here: "Waiting for data…" is the stylesheet's,
while it is empty); this module gives the container and, for pages that act on alerts, a filter bar
(status, priority) and the line where a failed action is reported. `PRIORITY_COLORS` is the one
place the priority colours are defined (the stylesheet uses the same class names).
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, State, clientside_callback, html

PRIORITY_COLORS = {"CRITICAL": "danger", "HIGH": "warning", "MEDIUM": "info", "LOW": "secondary"}
STATUS_CHOICES = (("all", "Any status"), ("open", "Open"), ("acknowledged", "Acknowledged"), ("resolved", "Resolved"))
PRIORITY_CHOICES = (("all", "Any priority"), ("HIGH", "HIGH"), ("CRITICAL", "CRITICAL"))


def alert_filters(status_id, priority_id, error_id) -> html.Div:
    """Status and priority selects ("all" = no filter) and an inline line for API errors."""
    def select(select_id, choices, label):
        return html.Label([html.Span(label.capitalize(), className="visually-hidden"),
                           dbc.Select(id=select_id, value="all", size="sm", className="alert-filter",
                                      options=[{"label": text, "value": value} for value, text in choices])],
                          **{"data-testid": f"alert-filter-{label}"})
    return html.Div([
        html.Div([select(status_id, STATUS_CHOICES, "status"), select(priority_id, PRIORITY_CHOICES, "priority")],
                 className="d-flex gap-2"),
        html.Div(id=error_id, className="text-danger small mt-1", role="status", **{"data-testid": "alert-error"}),
    ], className="alert-filters mb-2")


def alert_list(list_id, title: str = "Alerts", filters: html.Div | None = None) -> dbc.Card:
    return dbc.Card([
        dbc.CardHeader([html.Span(title, className="fw-semibold"),
                        html.Span(" latest 20, newest first", className="text-body-secondary small")]),
        dbc.CardBody([
            filters if filters is not None else html.Div(),
            html.Div(id=list_id, className="alert-list waiting", **{"data-testid": "alert-list"}),
        ], className="p-2"),
    ], className="h-100", id="alerts")     # the toasts' "View alerts" link lands here


def register_alert_filters(status_id, priority_id, render_config_id) -> None:
    """A new status/priority: the list is redrawn from what is held, then matching older alerts are
    asked of the API (assets/js/pulse_alerts.js); the page's render config names its list."""
    clientside_callback(ClientsideFunction("pulse_alerts", "filter"), Input(status_id, "value"),
                        Input(priority_id, "value"), State(render_config_id, "data"), prevent_initial_call=True)
