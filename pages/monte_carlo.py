"""Monte Carlo NPV: distributions for the uncertain inputs, up to 1,000,000 scenarios, a progress bar
and a Cancel button. The run is a Dash background callback (DiskcacheManager in embedded mode,
CeleryManager on Redis), so the page stays responsive; the job also keeps a record
(services.storage.calc_records), which is how a run finished while you were on another page is shown
when you come back, and how a run in progress is picked up again.
"""
from __future__ import annotations

from enum import StrEnum

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from flask_login import current_user

from components import finance_cards, finance_figures
from components.page_header import page_header
from services.finance import FinanceError, check_monte_carlo, run_recorded
from services.finance.forms import pasted_column, percent
from services.storage.calc_records import SUBMITTED
from services.web.runtime_access import get_runtime

dash.register_page(__name__, path="/monte-carlo", name="Monte Carlo", title="Monte Carlo · Pulseboard", order=5)

KIND = "monte_carlo"


class Ids(StrEnum):
    flows = "mc-flows"
    rate_mean = "mc-rate-mean"
    rate_std = "mc-rate-std"
    inv_low = "mc-inv-low"
    inv_mode = "mc-inv-mode"
    inv_high = "mc-inv-high"
    growth_low = "mc-growth-low"
    growth_high = "mc-growth-high"
    factor_std = "mc-factor-std"
    scenarios = "mc-scenarios"
    seed = "mc-seed"
    run = "mc-run"
    cancel = "mc-cancel"
    progress = "mc-progress"
    status = "mc-status"
    error = "mc-error"
    cards = "mc-cards"
    histogram = "mc-histogram"
    job = "mc-job"
    poll = "mc-poll"


def field(id_, label, value, **kw):
    return dbc.Col([dbc.Label(label, html_for=id_, className="small mb-0"),
                    dbc.Input(id=id_, type="number", value=value, step="any", **kw)], xs=6, md=3, lg=2)


def records():
    return get_runtime().calc_records


def shown(record: dict | None) -> tuple:
    """(cards, histogram figure, status text, progress value, progress label, poll) for a job record."""
    if record is None:
        return [], {}, "No run yet.", 0, "", True
    if record["status"] == "completed":
        r = record["result"]
        return (finance_cards.monte_carlo_cards(r), finance_figures.histogram(r),
                f"Completed: {r['scenarios']:,} scenarios (seed {r['seed']}).", 100, "100%", True)
    if record["status"] == "running":
        return [], {}, f"Running… {record['message']}", record["progress"], f"{record['progress']}%", False
    return [], {}, f"{record['status'].capitalize()}: {record['message']}", 0, "", True


def layout(**_query):
    cards, figure, status, value, label, poll_off = shown(records().latest(current_user.id, KIND))
    return dbc.Container([
        page_header("Monte Carlo NPV", "monte-carlo", ["notifications"], spacing="mb-2"),
        dbc.Label("Base cash flows, one per period (end of period; paste a column)", className="small mb-0"),
        dbc.Textarea(id=Ids.flows, value="\n".join(["150000"] * 10), rows=3),
        dbc.Row([field(Ids.rate_mean, "Discount rate mean %", 8), field(Ids.rate_std, "… std %", 2),
                 field(Ids.inv_low, "Investment low", 800_000), field(Ids.inv_mode, "… most likely", 950_000),
                 field(Ids.inv_high, "… high", 1_300_000), field(Ids.growth_low, "Growth low %", -2),
                 field(Ids.growth_high, "Growth high %", 4), field(Ids.factor_std, "Cash-flow factor std %", 15),
                 field(Ids.scenarios, "Scenarios (up to 1,000,000)", 1_000_000),
                 field(Ids.seed, "Seed", 42, min=0)], className="g-2 my-2"),
        html.Div("Discount rate ~ normal, investment ~ triangular, growth ~ uniform, every cash flow x a normal "
                 "factor (mean 1).", className="text-muted small mb-2"),
        dbc.Button("Run", id=Ids.run, color="primary", className="me-2"),
        dbc.Button("Cancel", id=Ids.cancel, color="secondary", outline=True, disabled=True),
        html.Div(dbc.Progress(id=Ids.progress, value=value, label=label, striped=True, className="my-3",
                              style={"height": "1.4rem"}), **{"data-testid": "mc-progress"}),
        html.Div(status, id=Ids.status, className="small mb-2", **{"data-testid": "mc-status"}),
        html.Div(dbc.Alert(id=Ids.error, color="danger", is_open=False, className="py-2"),
                 **{"data-testid": "mc-error"}),
        dbc.Row(cards, id=Ids.cards, className="g-2"),
        dcc.Graph(id=Ids.histogram, figure=figure, config={"displaylogo": False}),
        dcc.Store(id=Ids.job),
        dcc.Interval(id=Ids.poll, interval=1000, disabled=poll_off),
    ], fluid=True)


def parameters(flows, rate_mean, rate_std, low, mode, high, g_low, g_high, factor_std, scenarios, seed) -> dict:
    return {"cash_flows": pasted_column(flows or ""), "scenarios": scenarios, "seed": seed,
            "discount_rate": {"dist": "normal", "mean": percent(rate_mean, "discount rate mean"),
                              "std": percent(rate_std, "discount rate std")},
            "initial_investment": {"dist": "triangular", "low": low, "mode": mode, "high": high},
            "growth": {"dist": "uniform", "low": percent(g_low, "growth low"), "high": percent(g_high, "growth high")},
            "cash_flow_factor": {"dist": "normal", "mean": 1.0, "std": percent(factor_std, "cash-flow factor std")}}


INPUTS = [State(i, "value") for i in (Ids.flows, Ids.rate_mean, Ids.rate_std, Ids.inv_low, Ids.inv_mode, Ids.inv_high,
                                      Ids.growth_low, Ids.growth_high, Ids.factor_std, Ids.scenarios, Ids.seed)]


@callback(Output(Ids.job, "data"), Output(Ids.error, "children"), Output(Ids.error, "is_open"),
          Output(Ids.status, "children", allow_duplicate=True), Output(Ids.progress, "value", allow_duplicate=True),
          Output(Ids.progress, "label", allow_duplicate=True), Output(Ids.poll, "disabled", allow_duplicate=True),
          Input(Ids.run, "n_clicks"), *INPUTS, prevent_initial_call=True)
def start(_n, *values):
    """Check the inputs here (an inline error, no job), then open a record and hand it to the job.

    The record is opened here, in the web process, before the job exists, and the page follows it from
    now on (the poll): a job that dies before its first report, or later, or whose worker is lost,
    stops updating its record and reads as failed after STALE_SECONDS, on this open page too."""
    try:
        params = parameters(*values)
        check_monte_carlo(params)
    except FinanceError as exc:
        return dash.no_update, exc.message, True, dash.no_update, dash.no_update, dash.no_update, dash.no_update
    record_id = records().start(current_user.id, KIND)
    return {"record": record_id, "parameters": params}, "", False, f"Running… {SUBMITTED}", 0, "", False


@callback(Output(Ids.cards, "children"), Output(Ids.histogram, "figure"), Output(Ids.status, "children"),
          Input(Ids.job, "data"), background=True, prevent_initial_call=True, interval=400,
          running=[(Output(Ids.run, "disabled"), True, False), (Output(Ids.cancel, "disabled"), False, True)],
          cancel=[Input(Ids.cancel, "n_clicks")],
          progress=[Output(Ids.progress, "value"), Output(Ids.progress, "label")])
def run(set_progress, job):
    """The background job: another process (or a Celery worker) runs the scenarios."""
    pulse = get_runtime(dash.get_app().server)
    result = run_recorded(pulse.calc_records, job["record"], job["parameters"],
                          lambda pct, _message: set_progress((pct, f"{pct}%")))
    return (finance_cards.monte_carlo_cards(result), finance_figures.histogram(result),
            f"Completed: {result['scenarios']:,} scenarios (seed {result['seed']}).")


@callback(Output(Ids.status, "children", allow_duplicate=True), Output(Ids.progress, "value", allow_duplicate=True),
          Output(Ids.progress, "label", allow_duplicate=True),
          Input(Ids.cancel, "n_clicks"), State(Ids.job, "data"), prevent_initial_call=True)
def cancelled(_n, job):
    if job:
        records().fail(job["record"], "cancelled before it finished", status="cancelled")
    return "Cancelled: no result was kept.", 0, ""


@callback(Output(Ids.cards, "children", allow_duplicate=True), Output(Ids.histogram, "figure", allow_duplicate=True),
          Output(Ids.status, "children", allow_duplicate=True), Output(Ids.progress, "value", allow_duplicate=True),
          Output(Ids.progress, "label", allow_duplicate=True), Output(Ids.poll, "disabled"),
          Output(Ids.run, "disabled", allow_duplicate=True), Output(Ids.cancel, "disabled", allow_duplicate=True),
          Input(Ids.poll, "n_intervals"), prevent_initial_call=True)
def follow_running(_n):
    """While a run is on (started here, or earlier and still going when the page opened): follow its
    record until it ends. A job that died stops reporting and its record reads as failed, which is
    how the page learns of it (Dash's own channel would just go quiet, or poll a lost Celery task for
    ever): the status turns to Failed and Run is offered again."""
    shown_now = shown(records().latest(current_user.id, KIND))
    if not shown_now[-1]:                                  # still running: the job's own callback owns the buttons
        return *shown_now, dash.no_update, dash.no_update
    return *shown_now, False, True
