"""KPI card: a title, a big value and a hint line. Values are filled in by clientside callbacks."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def kpi_card(value_id, title: str, hint: str = "") -> dbc.Card:
    """A card whose value starts as a spinner until the first snapshot arrives."""
    return dbc.Card(dbc.CardBody([
        html.Div(title, className="kpi-title"),
        html.Div(dbc.Spinner(size="sm", color="secondary"), id=value_id, className="kpi-value",
                 **{"data-testid": "kpi-value"}),
        html.Div(hint, className="kpi-hint"),
    ]), className="kpi-card h-100")
