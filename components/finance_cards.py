"""Result cards for the calculator pages: a title, a value, a note; formatting of money, rates and periods."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def money(value) -> str:
    return "—" if value is None else f"{value:,.2f}"


def pct(value) -> str:
    return "—" if value is None else f"{value:.2%}"


def periods(value) -> str:
    return "never" if value is None else f"{value:.2f} periods"


def result_card(title: str, value: str, note: str = "", testid: str = "result") -> dbc.Col:
    return dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(title, className="kpi-title"),
        html.Div(value, className="kpi-value", **{"data-testid": testid}),
        html.Div(note, className="kpi-hint"),
    ]), className="kpi-card h-100"), xs=6, md=4, xl=2, className="mb-3")


def npv_cards(result: dict, convention: str) -> list:
    headline, other = ("npv", "npv_spreadsheet") if convention == "t0" else ("npv_spreadsheet", "npv")
    other_label = "spreadsheet NPV()" if convention == "t0" else "first flow at t=0"
    irr = result["irr"]
    payback_note = "" if result["payback_stays_recovered"] or result["payback_period"] is None \
        else "turns negative again later"
    return [
        result_card("NPV", money(result[headline]), f"{other_label}: {money(result[other])}", "npv"),
        result_card("IRR", pct(irr["value"]), f"{len(irr['roots'])} root(s)" if len(irr["roots"]) > 1 else "", "irr"),
        result_card("MIRR", pct(result["mirr"]), "finance / reinvest rates", "mirr"),
        result_card("Profitability index", "—" if result["profitability_index"] is None
                    else f"{result['profitability_index']:.3f}", "> 1: worth doing", "pi"),
        result_card("Payback", periods(result["payback_period"]), payback_note, "payback"),
        result_card("Discounted payback", periods(result["discounted_payback_period"]), "", "discounted-payback"),
    ]


def roi_cards(result: dict) -> list:
    return [result_card("ROI", pct(result["roi"]), "", "roi"),
            result_card("Annualised ROI", pct(result["annualized_roi"]), "", "annualized-roi"),
            result_card("Net gain", money(result["net_gain"]), "", "net-gain")]


def monte_carlo_cards(result: dict) -> list:
    return [result_card("P(NPV < 0)", pct(result["p_negative"]), f"{result['valid']:,} scenarios", "p-negative"),
            result_card("Expected NPV", money(result["expected_npv"]), f"std {money(result['std_npv'])}", "expected"),
            result_card("P5", money(result["p5"]), "5 % of scenarios are worse", "p5"),
            result_card("P50", money(result["p50"]), "median", "p50"),
            result_card("P95", money(result["p95"]), "5 % are better", "p95")]
