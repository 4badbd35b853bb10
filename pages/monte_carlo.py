"""Monte Carlo NPV: distributions for the uncertain inputs, up to 1,000,000 scenarios, a progress bar
and a Cancel button. The run is a Dash background callback (DiskcacheManager in embedded mode,
CeleryManager on Redis), so the page stays responsive; the job also keeps a record
(services.storage.calc_records), which is how a run finished while you were on another page is shown
when you come back, and how a run in progress is picked up again.

Everything the page shows about a run is drawn from that record by one function (`view`), whichever
event asked (the job ending, the 1 s poll, Cancel, opening the page), so the sources cannot disagree:
once Cancel has marked the record, no later event can show that run's result ("Cancel wins"). A result
carries the inputs that produced it: they are shown with it, refill the form when the page opens, and
the page says so when the form no longer matches them.
"""
from __future__ import annotations

from enum import StrEnum

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from flask_login import current_user

from components import finance_cards, finance_figures
from components.page_header import page_header
from services.finance import Cancelled, FinanceError, cancel_latest, check_monte_carlo, run_recorded, still_running
from services.finance.forms import MONTE_CARLO_LABELS, monte_carlo_parameters
from services.storage.calc_records import SUBMITTED
from services.web.runtime_access import get_runtime

dash.register_page(__name__, path="/monte-carlo", name="Monte Carlo", title="Monte Carlo · Pulseboard", order=5)

KIND = "monte_carlo"
DEFAULTS = {"flows": "\n".join(["150000"] * 10), "rate_mean": 8, "rate_std": 2, "inv_low": 800_000,
            "inv_mode": 950_000, "inv_high": 1_300_000, "growth_low": -2, "growth_high": 4, "factor_std": 15,
            "scenarios": 1_000_000, "seed": 42}
PERCENT_FIELDS = {"rate_mean", "rate_std", "growth_low", "growth_high", "factor_std"}
PROGRESS_NAME = "Monte Carlo run progress"
BEFORE_RUN = ("Run a simulation to see how NPV is spread over the scenarios: the chance of a loss "
              "(P(NPV < 0)), the expected NPV, the 5th, 50th and 95th percentiles, and a histogram of every "
              "scenario's NPV.")
WHILE_RUNNING = "The distribution of NPV appears here when the run completes."


class Ids(StrEnum):
    run = "mc-run"
    cancel = "mc-cancel"
    progress = "mc-progress"
    status = "mc-status"
    error = "mc-error"
    result = "mc-result"
    result_inputs = "mc-result-inputs"
    shown = "mc-shown"
    finished = "mc-finished"
    job = "mc-job"
    poll = "mc-poll"


def field_id(key: str) -> str:
    """The id of a form field: "rate_mean" -> "mc-rate-mean" (flows -> "mc-flows")."""
    return f"mc-{key.replace('_', '-')}"


FORM = [State(field_id(key), "value") for key in MONTE_CARLO_LABELS]
FORM_CHANGES = [Input(field_id(key), "value") for key in MONTE_CARLO_LABELS]


def field(key: str, value) -> dbc.Col:
    label = MONTE_CARLO_LABELS[key] + (" %" if key in PERCENT_FIELDS else "")
    if key == "scenarios":
        label += " (up to 1,000,000)"
    return dbc.Col([dbc.Label(label, html_for=field_id(key), className="small mb-0"),
                    dbc.Input(id=field_id(key), type="number", value=value, step="any",
                              **({"min": 0} if key == "seed" else {}))], xs=6, md=3, lg=2)


def records():
    return get_runtime().calc_records


def latest() -> dict | None:
    return records().latest(current_user.id, KIND)


def view(record: dict | None) -> tuple:
    """(result area, status, progress bar, poll disabled, shown result's parameters, Run disabled,
    Cancel disabled) for the user's latest record: the one way the page shows a run."""
    if record is None:
        return (finance_cards.empty_state(BEFORE_RUN, "mc-empty"), "No run yet.",
                finance_cards.progress_bar(0, "no run yet", PROGRESS_NAME), True, None, False, True)
    if record["status"] == "completed":
        r = record["result"]
        return ([finance_cards.card_grid(finance_cards.monte_carlo_cards(r), id="mc-cards"),
                 finance_figures.graph(finance_figures.histogram(r), "Histogram of NPV over the scenarios")],
                f"Completed: {r['scenarios']:,} scenarios ({finance_cards.seed_text(r['seed'])}).",
                finance_cards.progress_bar(100, "completed", PROGRESS_NAME), True,
                {"parameters": r.get("parameters")}, False, True)
    if record["status"] == "running":
        return (finance_cards.empty_state(WHILE_RUNNING, "mc-empty"), f"Running… {record['message']}",
                finance_cards.progress_bar(record["progress"], record["message"], PROGRESS_NAME), False, None,
                True, False)
    return (finance_cards.empty_state(BEFORE_RUN, "mc-empty"),
            f"{record['status'].capitalize()}: {record['message']}",
            finance_cards.progress_bar(0, record["status"], PROGRESS_NAME), True, None, False, True)


def layout(**_query):
    record = latest()
    result, status, bar, poll_off, shown, run_off, cancel_off = view(record)
    stored_form = (((record or {}).get("result") or {}).get("form") or {}) if shown else {}
    form = {**DEFAULTS, **stored_form}          # a shown result refills the form it came from
    return dbc.Container([
        page_header("Monte Carlo NPV", "monte-carlo", ["notifications"], spacing="mb-2"),
        dbc.Label("Base cash flows, one per period (end of period; paste a column)", html_for=field_id("flows"),
                  className="small mb-0"),
        dbc.Textarea(id=field_id("flows"), value=form["flows"], rows=3),
        dbc.Row([field(key, form[key]) for key in MONTE_CARLO_LABELS if key != "flows"], className="g-2 my-2"),
        html.Div("Discount rate ~ normal, investment ~ triangular, growth ~ uniform, every cash flow x a normal "
                 "factor (mean 1).", className="text-body-secondary small mb-2"),
        dbc.Button("Run", id=Ids.run, color="primary", className="me-2", disabled=run_off),
        dbc.Button("Cancel", id=Ids.cancel, color="secondary", outline=True, disabled=cancel_off),
        html.Div(bar, id=Ids.progress, className="my-3", **{"data-testid": "mc-progress"}),
        html.Div(status, id=Ids.status, className="small mb-2", role="status", **{"data-testid": "mc-status"}),
        html.Div(dbc.Alert(id=Ids.error, color="danger", is_open=False, className="py-2"),
                 **{"data-testid": "mc-error"}),
        html.Div(id=Ids.result_inputs, className="small mb-2", **{"data-testid": "mc-result-inputs"}),
        html.Div(result, id=Ids.result),
        dcc.Store(id=Ids.job), dcc.Store(id=Ids.finished), dcc.Store(id=Ids.shown, data=shown),
        dcc.Interval(id=Ids.poll, interval=1000, disabled=poll_off),
    ], fluid=True)


VIEW = [Output(Ids.result, "children", allow_duplicate=True), Output(Ids.status, "children", allow_duplicate=True),
        Output(Ids.progress, "children", allow_duplicate=True), Output(Ids.poll, "disabled", allow_duplicate=True),
        Output(Ids.shown, "data", allow_duplicate=True), Output(Ids.run, "disabled", allow_duplicate=True),
        Output(Ids.cancel, "disabled", allow_duplicate=True)]


@callback(Output(Ids.job, "data"), Output(Ids.error, "children"), Output(Ids.error, "is_open"), *VIEW,
          Input(Ids.run, "n_clicks"), *FORM, prevent_initial_call=True)
def start(_n, *values):
    """Check the inputs here (an inline error naming the box, no job), then open a record and hand it
    to the job. The record is opened here, in the web process, before the job exists, and the page
    follows it from now on (the poll): a job that dies before its first report, or later, or whose
    worker is lost, stops updating its record and reads as failed after STALE_SECONDS."""
    form = dict(zip(MONTE_CARLO_LABELS, values))
    try:
        params = monte_carlo_parameters(form)
        check_monte_carlo(params)
    except FinanceError as exc:
        return dash.no_update, exc.message, True, *[dash.no_update] * len(VIEW)
    record_id = records().start(current_user.id, KIND)
    job = {"record": record_id, "user": current_user.id, "parameters": params, "form": form}
    return (job, "", False, finance_cards.empty_state(WHILE_RUNNING, "mc-empty"), f"Running… {SUBMITTED}",
            finance_cards.progress_bar(0, SUBMITTED, PROGRESS_NAME), False, None, True, False)


@callback(Output(Ids.finished, "data"), Input(Ids.job, "data"), background=True, prevent_initial_call=True,
          interval=400,
          running=[(Output(Ids.run, "disabled"), True, False), (Output(Ids.cancel, "disabled"), False, True)],
          cancel=[Input(Ids.cancel, "n_clicks")], progress=Output(Ids.progress, "children"))
def run(set_progress, job):
    """The background job: another process (or a Celery worker) runs the scenarios. It hands back only
    which record ended; `show_finished` draws it from the record, so a run cancelled meanwhile stays
    cancelled. Between chunks it stops by itself once its record is no longer running (cancelled from a
    page Dash's own Cancel no longer reaches: one opened again after leaving)."""
    calc_records = get_runtime(dash.get_app().server).calc_records
    try:
        run_recorded(calc_records, job["record"], job["parameters"],
                     lambda pct, message: set_progress(finance_cards.progress_bar(pct, message, PROGRESS_NAME)),
                     lambda: not still_running(calc_records, job["user"], KIND, job["record"]), job["form"])
    except Cancelled:
        pass
    return job["record"]


@callback(*VIEW, Input(Ids.poll, "n_intervals"), prevent_initial_call=True)
def follow_record(_n):
    """A second passed while a run is on (started here, or earlier and still going when the page opened):
    show the latest record. A job that died stops reporting and its record reads as failed, which is
    how the page learns of it (Dash's own channel would just go quiet, or poll a lost Celery task for
    ever): the status turns to Failed and Run is offered again. (Its own callback, not one with the
    job's output as a second input: Dash holds back a callback while one of its inputs is the output
    of a callback still running, which for a lost Celery task is for ever.)"""
    return view(latest())


@callback(*VIEW, Input(Ids.finished, "data"), prevent_initial_call=True)
def show_finished(_record_id):
    """The job ended: show the latest record at once rather than at the next poll."""
    return view(latest())


@callback(*VIEW, Input(Ids.cancel, "n_clicks"), State(Ids.shown, "data"), prevent_initial_call=True)
def cancel(_n, shown):
    """Cancel wins (services.finance.cancel_latest): whatever the job does next, the latest record says
    cancelled. Dash's own cancel, on the same click, kills the job where it still can."""
    cancel_latest(records(), current_user.id, KIND, result_shown=shown is not None)
    return view(latest())


@callback(Output(Ids.result_inputs, "children"), Output(Ids.result_inputs, "className"),
          Input(Ids.shown, "data"), *FORM_CHANGES)
def result_inputs(shown, *values):
    """What the shown result was computed from, and whether the form still says the same."""
    if not shown:
        return "", "small mb-2"
    if not shown.get("parameters"):
        return ("Result of an earlier run whose inputs were not recorded — Run again for the form's inputs.",
                "small mb-2 text-warning-emphasis")
    inputs = finance_cards.monte_carlo_inputs(shown["parameters"])
    try:
        same = monte_carlo_parameters(dict(zip(MONTE_CARLO_LABELS, values))) == shown["parameters"]
    except FinanceError:
        same = False
    if same:
        return f"Result for {inputs}.", "small mb-2 text-body-secondary"
    return f"Result for {inputs}; the form has changed — Run again", "small mb-2 text-warning-emphasis fw-semibold"
