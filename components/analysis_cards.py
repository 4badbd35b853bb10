"""The Analysis page's figures in words: a KPI card's text and a card per sensor type (pages/analysis.py).

A file mixing sensor types has no one average across units, so its value KPIs say "per sensor type, below"
and each type gets its own card with its unit; the trend says what it was computed on (`trend_basis`).
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components.formats import MISSING, number, percent, signed_percent

VALUE_KPIS = {"average", "max", "min", "volatility", "trend"}


def kpi_text(kpis: dict, key: str):
    if kpis.get("mixed_units") and key in VALUE_KPIS:
        return [MISSING, html.Div("per sensor type, below", className="kpi-hint")]
    if kpis.get("mixed_units") and key == "holiday_average":
        return MISSING
    if key == "span":
        written = f" (dates read as {kpis['date_format']})" if kpis.get("date_format") else ""
        return [f"{kpis['days']:,} days", html.Div(f"{kpis['first'][:10]} → {kpis['last'][:10]}{written}",
                                                   className="kpi-hint")]
    if key == "trend":
        return trend_text(kpis)
    if key == "volatility":
        return percent(None if kpis[key] is None else kpis[key] / 100)
    return number(kpis[key])


def trend_text(kpis: dict) -> str:
    """'flat (+0.19 %)', 'increasing (+12.40 %)' or 'not enough data'."""
    change = kpis.get("trend_change_pct")
    return kpis["trend"] if change is None else f"{kpis['trend']} ({signed_percent(change / 100 + 0.0)})"  # no -0


def type_card(kind: dict, anomalies: dict | None):
    flagged = anomalies.get(kind["label"]) if anomalies is not None else None
    facts = [("Mean", number(kind["average"])), ("Min", number(kind["min"])), ("Max", number(kind["max"])),
             ("Volatility", percent(None if kind["volatility"] is None else kind["volatility"] / 100)),
             ("Trend", trend_text(kind)), ("Anomalies", "…" if anomalies is None else number(flagged or 0)),
             ("Rows", number(kind["count"]))]
    return dbc.Col(html.Div(dbc.CardBody([
        html.H3(kind["label"], className="h6 mb-2"),
        html.Dl([part for name, value in facts for part in (html.Dt(name), html.Dd(value))], className="type-facts"),
        html.Div(kind["trend_basis"], className="kpi-hint"),
    ]), className="card h-100", **{"data-testid": "analysis-type-kpis"}), xs=12, md=6, xl=3, className="mb-3")
