"""Alert list: newest first, coloured by priority, each with the human "why".

The list itself is rendered in the browser (assets/js/pulse_live.js) from alert messages; this
module gives the container and the empty state, and `PRIORITY_COLORS` is the one place the
priority colours are defined (the stylesheet uses the same class names).
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

PRIORITY_COLORS = {"CRITICAL": "danger", "HIGH": "warning", "MEDIUM": "info", "LOW": "secondary"}


def alert_list(list_id, title: str = "Alerts") -> dbc.Card:
    return dbc.Card([
        dbc.CardHeader([html.Span(title, className="fw-semibold"),
                        html.Span(" latest 20, newest first", className="text-muted small")]),
        dbc.CardBody(html.Div([dbc.Spinner(size="sm", color="secondary"), " Waiting for data…"],
                              id=list_id, className="alert-list", **{"data-testid": "alert-list"}),
                     className="p-2"),
    ], className="h-100")
