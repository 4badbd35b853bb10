"""KPI card: a title, a big value and a hint line. Values are drawn by the page's clientside renderer
(straight into the value's element, which Dash never re-renders: it has no children in the layout);
until then the value shows a spinner (CSS, `.kpi-value:empty`)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def kpi_card(value_id, title: str, hint: str = "") -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.Div(title, className="kpi-title"),
        html.Div(id=value_id, className="kpi-value", **{"data-testid": "kpi-value"}),
        html.Div(hint, className="kpi-hint"),
    ]), className="kpi-card h-100")
