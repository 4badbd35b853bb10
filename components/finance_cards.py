"""Result cards, empty states and the heading of the finance pages (Calculators, Monte Carlo, Market).

Numbers go through components.formats (no-break text inside a number), and the cards sit in a
`finance-cards` grid (assets/finance.css) whose columns are never narrower than a value: a result
wraps between cards, never inside a number, at any width.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components import formats

money = formats.money            # thin aliases: these pages format as every other page does
pct = formats.percent
NBSP = formats.NBSP


def periods(value) -> str:
    return "never" if value is None else f"{formats.number(value)}{NBSP}{'period' if value == 1 else 'periods'}"


def seed_text(seed) -> str:
    return "a random seed" if seed is None else f"seed {seed}"


def ratio(value) -> str:
    return formats.number(value, 3)


def pi_hint(value) -> str:
    """What a profitability index (PV of the cash flows / the investment) says, following its value:
    only above 1 is a project worth doing; below 0 the later cash flows lose money too."""
    if value is None:
        return "needs an investment above 0"
    shown = round(value, 3)           # the hint agrees with the figure on the card
    if shown > 1:
        return "above 1: worth doing (returns more than it costs)"
    if shown == 1:
        return "exactly 1: breaks even"
    if shown >= 0:
        return "below 1: not worth doing (returns less than it costs)"
    return "negative: not worth doing (the cash flows lose money too)"


def result_card(title: str, value: str, note: str = "", testid: str = "result") -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.Div(title, className="kpi-title text-body-secondary"),
        html.Div(value, className="kpi-value finance-number", **{"data-testid": testid}),
        html.Div(note, className="kpi-hint text-body-secondary", **{"data-testid": f"{testid}-hint"}),
    ]), className="kpi-card finance-card h-100")


def card_grid(children=None, **attrs) -> html.Div:
    """The container of a page's result cards (a grid whose columns fit the widest value)."""
    return html.Div(children or [], className="finance-cards", **attrs)


def empty_state(text: str, testid: str = "finance-empty") -> html.Div:
    """What a result area says before there is a result, instead of blank axes or a spinner."""
    return html.Div(text, className="finance-empty text-body-secondary", **{"data-testid": testid})


def npv_cards(result: dict, convention: str) -> list:
    headline, other = ("npv", "npv_spreadsheet") if convention == "t0" else ("npv_spreadsheet", "npv")
    other_label = "spreadsheet NPV()" if convention == "t0" else "first flow at t=0"
    irr, index = result["irr"], result["profitability_index"]
    payback_note = "" if result["payback_stays_recovered"] or result["payback_period"] is None \
        else "turns negative again later"
    return [
        result_card("NPV", money(result[headline]), f"{other_label}: {money(result[other])}", "npv"),
        result_card("IRR", pct(irr["value"]), f"{len(irr['roots'])} roots" if len(irr["roots"]) > 1 else "", "irr"),
        result_card("MIRR", pct(result["mirr"]), "finance / reinvest rates", "mirr"),
        result_card("Profitability index", "—" if index is None else ratio(index), pi_hint(index), "pi"),
        result_card("Payback", periods(result["payback_period"]), payback_note, "payback"),
        result_card("Discounted payback", periods(result["discounted_payback_period"]), "", "discounted-payback"),
    ]


def xnpv_cards(result: dict) -> list:
    return [result_card("XNPV", money(result["npv"]), "actual/365", "npv"),
            result_card("XIRR", pct(result["irr"]["value"]), "", "irr")]


def roi_cards(result: dict) -> list:
    return [result_card("ROI", pct(result["roi"]), "", "roi"),
            result_card("Annualised ROI", pct(result["annualized_roi"]), "", "annualized-roi"),
            result_card("Net gain", money(result["net_gain"]), "", "net-gain")]


def monte_carlo_cards(result: dict) -> list:
    return [result_card("P(NPV < 0)", pct(result["p_negative"]), formats.count(result["valid"], "scenario"),
                        "p-negative"),
            result_card("Expected NPV", money(result["expected_npv"]), f"std {money(result['std_npv'])}", "expected"),
            result_card("P5", money(result["p5"]), "5 % of scenarios are worse", "p5"),
            result_card("P50", money(result["p50"]), "median", "p50"),
            result_card("P95", money(result["p95"]), "5 % are better", "p95")]


def monte_carlo_inputs(parameters: dict) -> str:
    """The inputs of a Monte Carlo result in one line, so a result never reads as the form's."""
    flows = parameters["cash_flows"]
    if len(set(flows)) == 1:
        flow_text = f"{formats.count(len(flows), 'cash flow')} of {formats.number(flows[0])}"
    else:
        flow_text = (f"{formats.count(len(flows), 'cash flow')} from {formats.number(min(flows))} "
                     f"to {formats.number(max(flows))}")
    rate, invest = parameters["discount_rate"], parameters["initial_investment"]
    growth, factor, seed = parameters["growth"], parameters["cash_flow_factor"], parameters.get("seed")
    return ", ".join([
        flow_text, f"discount rate {pct(rate['mean'])} ± {pct(rate['std'])}",
        f"investment {formats.number(invest['low'])} / {formats.number(invest['mode'])} / "
        f"{formats.number(invest['high'])} (low / most likely / high)",
        f"growth {pct(growth['low'])} to {pct(growth['high'])}", f"cash-flow factor std {pct(factor['std'])}",
        formats.count(parameters["scenarios"], "scenario"), seed_text(seed)])


def progress_bar(value: int, text: str, name: str) -> html.Div:
    """Bootstrap's progress bar with an accessible name (`name`) and a spoken value (`text`), which
    dbc.Progress has no props for. The bar's own label is the percentage."""
    value = max(0, min(100, int(value or 0)))
    return html.Div(
        html.Div(f"{value}{NBSP}%" if value else "", className="progress-bar progress-bar-striped",
                 style={"width": f"{value}%"}),
        className="progress finance-progress", role="progressbar",
        **{"aria-label": name, "aria-valuenow": value, "aria-valuemin": 0, "aria-valuemax": 100,
           "aria-valuetext": text})
