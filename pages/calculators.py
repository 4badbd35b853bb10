"""Calculators: NPV / IRR / MIRR / payback from an editable cash-flow table, ROI with an AI-adoption
template, and sensitivity (tornado, rate x growth table). The math is services.finance; these
callbacks turn inputs into parameters, call it and hand the result to the cards and figures.

Everything here computes in milliseconds, so it runs as plain callbacks; the long Monte Carlo
runs on its own page as a background callback (pages/monte_carlo.py). With "follow the live market
rate" on, the rate box takes the market feed's discount rate (and says as of when), and every result
is computed from what the box shows: the rate shown is the rate used, on every tab.
"""
from __future__ import annotations

from enum import StrEnum

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dash_table, dcc, html

from components import finance_cards, finance_figures
from components.formats import time_cell
from components.live_socket import LiveSocket
from components.page_header import page_header
from components.tabs import register_tab_switch, tab_set
from services.finance import FinanceError, calculate
from services.finance.forms import GROWTH_PERCENT, RATE_PERCENT, number, pasted_column, percent, positive, table_flows
from services.finance.scenarios import ai_adoption_flows

dash.register_page(__name__, path="/calculators", name="Calculators", title="Calculators · Pulseboard", order=4)

SOCKET = "calculators"
START_FLOWS = [300_000, 400_000, 500_000, 450_000, 400_000]


class Ids(StrEnum):
    investment = "calc-investment"
    investment_date = "calc-investment-date"
    rate = "calc-rate"
    follow = "calc-follow-market"
    market_rate = "calc-market-rate"
    rate_source = "calc-rate-source"
    finance_rate = "calc-finance-rate"
    reinvest_rate = "calc-reinvest-rate"
    convention = "calc-convention"
    table = "calc-table"
    add_row = "calc-add-row"
    paste = "calc-paste"
    use_paste = "calc-use-paste"
    error = "calc-error"
    cards = "calc-cards"
    irr_warning = "calc-irr-warning"
    curve = "calc-curve"
    roi_gain = "calc-roi-gain"
    roi_cost = "calc-roi-cost"
    roi_years = "calc-roi-years"
    roi_cards = "calc-roi-cards"
    ai_benefit = "calc-ai-benefit"
    ai_ramp = "calc-ai-ramp"
    ai_cost = "calc-ai-running-cost"
    ai_use = "calc-ai-use"
    percent = "calc-sens-percent"
    growth = "calc-sens-growth"
    tornado = "calc-tornado"
    two_way = "calc-two-way"
    sens_error = "calc-sens-error"
    tabs = "calc-tabs"


def rows(flows) -> list[dict]:
    return [{"period": i + 1, "cash_flow": v, "date": ""} for i, v in enumerate(flows)]


def number_input(id_, label, value, step="any", **kw):
    return dbc.Col([dbc.Label(label, html_for=id_, className="small mb-0"),
                    dbc.Input(id=id_, type="number", value=value, step=step, debounce=True, **kw)], md=4, lg=3)


def figure_box(id_, waiting: str) -> html.Div:
    """Where a figure goes: an empty state saying what will be drawn until there is something to draw."""
    return html.Div(finance_cards.empty_state(waiting), id=id_)


def npv_tab():
    return dbc.Row([
        dbc.Col([
            dbc.Row([number_input(Ids.investment, "Initial investment (t=0)", 1_000_000),
                     number_input(Ids.rate, "Discount rate %", 10),
                     number_input(Ids.finance_rate, "MIRR finance rate %", 8),
                     number_input(Ids.reinvest_rate, "MIRR reinvest rate %", 6)], className="g-2 mb-1 align-items-end"),
            html.Div(id=Ids.rate_source, className="small text-body-secondary mb-2",
                     **{"data-testid": "calc-rate-source"}),
            dbc.Row([dbc.Col([dbc.Label("Investment date (with a date on every row: XNPV / XIRR, actual/365)",
                                        html_for=Ids.investment_date, className="small mb-0"),
                              dbc.Input(id=Ids.investment_date, type="date", debounce=True)], md=8)], className="mb-2"),
            dbc.Switch(id=Ids.follow, label="Follow the live market discount rate", value=False, className="mb-1"),
            dbc.RadioItems(id=Ids.convention, value="t0", inline=True, className="small mb-2", options=[
                {"label": "Investment at t=0, flows at period ends (numpy-financial)", "value": "t0"},
                {"label": "Spreadsheet NPV() (discounts the first value too)", "value": "spreadsheet"}]),
            html.Div(dash_table.DataTable(
                id=Ids.table, data=rows(START_FLOWS), editable=True, row_deletable=True,
                columns=[{"name": "Period", "id": "period", "editable": False},
                         {"name": "Cash flow (end of period)", "id": "cash_flow", "type": "numeric"},
                         {"name": "Date (optional: XNPV/XIRR)", "id": "date"}],
                style_cell={"fontFamily": "inherit", "fontSize": ".9rem"}),
                # the scrolling box, not the table's own: focusable and named, so a keyboard can scroll it
                className="calc-flows", tabIndex="0", role="region", **{"aria-label": "Cash flows"}),
            dbc.Button("Add period", id=Ids.add_row, size="sm", color="secondary", outline=True, className="mt-2 me-2"),
            dbc.Label("Paste a column from a spreadsheet (one cash flow per line)", html_for=Ids.paste,
                      className="small mb-0 mt-2 d-block"),
            dbc.Textarea(id=Ids.paste, placeholder="e.g. 300000 on one line, 400000 on the next", rows=2),
            dbc.Button("Use pasted column", id=Ids.use_paste, size="sm", color="secondary", className="mt-1"),
        ], lg=5),
        dbc.Col([
            html.Div(dbc.Alert(id=Ids.error, color="danger", is_open=False, className="py-2"),
                     **{"data-testid": "calc-error"}),
            finance_cards.card_grid(id=Ids.cards),
            dbc.Alert(id=Ids.irr_warning, color="warning", is_open=False, className="py-2 small"),
            figure_box(Ids.curve, "The NPV curve over discount rates appears here once the cash flows and rates "
                                  "are valid."),
        ], lg=7),
    ], className="g-3 mt-1")


def roi_tab():
    return dbc.Row([
        dbc.Col([
            html.H2("ROI", className="h6"),
            dbc.Row([number_input(Ids.roi_gain, "Total gain", 1_500_000), number_input(Ids.roi_cost, "Cost", 1_000_000),
                     number_input(Ids.roi_years, "Years", 3)], className="g-2 mb-2"),
            finance_cards.card_grid(id=Ids.roi_cards),
        ], lg=6),
        dbc.Col([
            html.H2("AI adoption scenario", className="h6"),
            dbc.Row([number_input(Ids.ai_benefit, "Yearly benefit at full adoption", 600_000),
                     number_input(Ids.ai_cost, "Yearly running cost", 50_000)], className="g-2 mb-2"),
            dbc.Label("Adoption ramp (share of the benefit reached each year)", html_for=Ids.ai_ramp,
                      className="small mb-0"),
            dbc.Input(id=Ids.ai_ramp, value="0.2, 0.5, 0.8, 1, 1", debounce=True),
            dbc.Button("Use as the NPV cash flows", id=Ids.ai_use, size="sm", color="primary", className="mt-2"),
        ], lg=6),
    ], className="g-3 mt-1")


def sensitivity_tab():
    return html.Div([
        dbc.Row([number_input(Ids.percent, "Move each input by ± %", 10, min=1, max=90),
                 number_input(Ids.growth, "Cash-flow growth per period %", 2)], className="g-2 mt-1 mb-2"),
        dbc.Alert(id=Ids.sens_error, color="danger", is_open=False, className="py-2"),
        dbc.Row([dbc.Col(figure_box(Ids.tornado, "The tornado chart (which input moves NPV most) appears here once "
                                                 "the inputs are valid."), lg=6),
                 dbc.Col(figure_box(Ids.two_way, "The discount rate x growth table of NPV appears here once the "
                                                 "inputs are valid."), lg=6)]),
        html.Div("Uses the cash flows, investment and rate of the NPV tab.", className="text-body-secondary small"),
    ])


def layout(**_query):
    return dbc.Container([
        page_header("Calculators", SOCKET, ["market", "notifications"], spacing="mb-2"),
        tab_set(Ids.tabs, [("npv", "NPV & IRR", npv_tab()), ("roi", "ROI & AI adoption", roi_tab()),
                           ("sensitivity", "Sensitivity", sensitivity_tab())], active="npv"),
        dcc.Store(id=Ids.market_rate),
    ], fluid=True)


clientside_callback(   # the market feed's latest discount rate and its time, from whatever frame the socket delivers
    ClientsideFunction("pulse_calculators", "marketRate"),
    Output(Ids.market_rate, "data"),
    Input(LiveSocket.ids.frame(SOCKET), "data"),
    prevent_initial_call=True,
)


@callback(Output(Ids.rate, "value"), Output(Ids.rate, "disabled"), Output(Ids.rate_source, "children"),
          Input(Ids.follow, "value"), Input(Ids.market_rate, "data"), State(Ids.rate, "value"))
def follow_market(follow, market, typed):
    """With "follow" on, the rate box shows the market's rate (to 2 decimals, the rate then used by
    every calculation on the page) and says it is the market's, as of when."""
    if not follow:
        return dash.no_update, False, ""
    if not market or market.get("rate") is None:
        return (dash.no_update, True,
                f"Waiting for the live market rate; the {typed if typed is not None else '—'} % in the box is used "
                f"until it arrives.")
    return (round(market["rate"] * 100, 2), True,
            ["Live market rate, as of ", time_cell(market.get("timestamp")), " (the rate used here)."])


def investment_of(value) -> float:
    """The initial investment box; empty means none."""
    return 0.0 if value is None or value == "" else number(value, "Initial investment")


def npv_params(table, investment, investment_date, rate, finance_rate, reinvest_rate) -> dict:
    flows, dates = table_flows(table)
    use_rate = percent(rate, "Discount rate", *RATE_PERCENT)
    investment = investment_of(investment)
    if dates and investment_date:          # dated flows: XNPV/XIRR with the investment on its own date (t=0)
        return {"cash_flows": [-investment] + flows, "dates": [investment_date] + dates, "discount_rate": use_rate}
    return {"cash_flows": flows, "discount_rate": use_rate, "initial_investment": investment,
            "finance_rate": percent(finance_rate, "MIRR finance rate", *RATE_PERCENT),
            "reinvest_rate": percent(reinvest_rate, "MIRR reinvest rate", *RATE_PERCENT)}


@callback(Output(Ids.cards, "children"), Output(Ids.irr_warning, "children"), Output(Ids.irr_warning, "is_open"),
          Output(Ids.curve, "children"), Output(Ids.error, "children"), Output(Ids.error, "is_open"),
          Input(Ids.table, "data"), Input(Ids.investment, "value"), Input(Ids.investment_date, "value"),
          Input(Ids.rate, "value"), Input(Ids.finance_rate, "value"), Input(Ids.reinvest_rate, "value"),
          Input(Ids.convention, "value"))
def update_npv(table, investment, investment_date, rate, finance_rate, reinvest_rate, convention):
    try:
        params = npv_params(table, investment, investment_date, rate, finance_rate, reinvest_rate)
        result = calculate("npv", params)
    except FinanceError as exc:
        return dash.no_update, "", False, dash.no_update, exc.message, True
    warning = result["irr"]["warning"]
    if "dates" in params:
        curve = finance_cards.empty_state("With dated flows (XNPV / XIRR) there is no NPV curve per period rate.")
        return finance_cards.xnpv_cards(result), warning or "", bool(warning), curve, "", False
    curve = finance_figures.graph(finance_figures.npv_curve(result["curve"], params["discount_rate"]),
                                  "NPV against the discount rate, with the IRR where it crosses zero")
    return finance_cards.npv_cards(result, convention), warning or "", bool(warning), curve, "", False


@callback(Output(Ids.table, "data", allow_duplicate=True), Output(Ids.error, "children", allow_duplicate=True),
          Output(Ids.error, "is_open", allow_duplicate=True),
          Input(Ids.add_row, "n_clicks"), Input(Ids.use_paste, "n_clicks"), State(Ids.table, "data"),
          State(Ids.paste, "value"), prevent_initial_call=True)
def edit_table(_add, _paste, table, pasted):
    if dash.ctx.triggered_id == Ids.add_row:
        return rows([r.get("cash_flow") for r in table or []] + [0]), "", False
    try:
        return rows(pasted_column(pasted)), "", False
    except FinanceError as exc:
        return dash.no_update, exc.message, True


@callback(Output(Ids.roi_cards, "children"), Input(Ids.roi_gain, "value"), Input(Ids.roi_cost, "value"),
          Input(Ids.roi_years, "value"))
def update_roi(gain, cost, years):
    try:
        params = {"gain": number(gain, "Total gain"), "cost": positive(cost, "Cost", " (ROI divides by it)"),
                  "years": positive(years, "Years")}
        return finance_cards.roi_cards(calculate("roi", params))
    except FinanceError as exc:
        return dbc.Alert(exc.message, color="danger", className="py-2")


@callback(Output(Ids.table, "data", allow_duplicate=True), Output(Ids.error, "children", allow_duplicate=True),
          Output(Ids.error, "is_open", allow_duplicate=True),
          Input(Ids.ai_use, "n_clicks"), State(Ids.ai_benefit, "value"), State(Ids.ai_ramp, "value"),
          State(Ids.ai_cost, "value"), prevent_initial_call=True)
def use_ai_scenario(_n, benefit, ramp, running_cost):
    try:
        shares = pasted_column((ramp or "").replace(",", "\n"), "Adoption ramp")
        return rows(ai_adoption_flows(benefit or 0, shares, running_cost or 0).round(2).tolist()), "", False
    except FinanceError as exc:
        return dash.no_update, f"AI scenario: {exc.message}", True


@callback(Output(Ids.tornado, "children"), Output(Ids.two_way, "children"), Output(Ids.sens_error, "children"),
          Output(Ids.sens_error, "is_open"),
          Input(Ids.table, "data"), Input(Ids.investment, "value"), Input(Ids.rate, "value"), Input(Ids.percent, "value"),
          Input(Ids.growth, "value"))
def update_sensitivity(table, investment, rate, move, growth):
    try:
        flows, _ = table_flows(table)
        result = calculate("sensitivity", {
            "cash_flows": flows, "initial_investment": investment_of(investment),
            "discount_rate": percent(rate, "Discount rate", *RATE_PERCENT),
            "growth": percent(growth, "Cash-flow growth per period", *GROWTH_PERCENT),
            "percent": number(move, "The move of each input", 1, 90, unit="\u00a0%")})
    except FinanceError as exc:
        return dash.no_update, dash.no_update, exc.message, True
    return (finance_figures.graph(finance_figures.tornado(result["tornado"]), "Tornado chart: NPV when each input "
                                  "moves down and up"),
            finance_figures.graph(finance_figures.two_way(result["two_way"]), "NPV for each discount rate and growth"),
            "", False)


register_tab_switch(Ids.tabs, ("npv", "roi", "sensitivity"))
