"""A page's Monte Carlo run and its record: Cancel wins whenever it arrives, a job stops once its record is
no longer running, and a result keeps the inputs that produced it."""
import pytest

from services.finance import Cancelled, cancel_latest, run_recorded, still_running
from services.finance.forms import monte_carlo_parameters
from services.storage.calc_records import CalcRecords

FORM = {"flows": "100\n100\n100", "rate_mean": 8, "rate_std": 2, "inv_low": 200, "inv_mode": 250, "inv_high": 300,
        "growth_low": -2, "growth_high": 4, "factor_std": 15, "scenarios": 120_000, "seed": 3}


def test_cancelling_a_running_record_stops_its_job_at_the_next_chunk(database):
    records = CalcRecords(database)
    rid = records.start(1, "monte_carlo")
    chunks = []

    def report(pct, _message):
        chunks.append(pct)
        if len(chunks) == 1:
            cancel_latest(records, 1, "monte_carlo", result_shown=False)     # Cancel, clicked mid-run

    with pytest.raises(Cancelled):
        run_recorded(records, rid, monte_carlo_parameters(FORM), report,
                     lambda: not still_running(records, 1, "monte_carlo", rid), FORM)
    assert len(chunks) == 1                                  # 120,000 scenarios are 3 chunks: it stopped after 1
    latest = records.latest(1, "monte_carlo")
    assert latest["id"] == rid and latest["status"] == "cancelled" and latest["result"] is None


def test_a_cancel_that_arrives_just_after_the_run_completed_still_wins(database):
    records = CalcRecords(database)
    rid = records.start(1, "monte_carlo")
    run_recorded(records, rid, monte_carlo_parameters(FORM), lambda *_: None, None, FORM)
    assert records.latest(1, "monte_carlo")["status"] == "completed"      # the page had not shown it yet
    cancel_latest(records, 1, "monte_carlo", result_shown=False)
    latest = records.latest(1, "monte_carlo")
    assert latest["status"] == "cancelled" and "discarded" in latest["message"]


def test_cancel_leaves_a_result_already_on_the_page_alone(database):
    records = CalcRecords(database)
    rid = records.start(1, "monte_carlo")
    run_recorded(records, rid, monte_carlo_parameters(FORM), lambda *_: None, None, FORM)
    cancel_latest(records, 1, "monte_carlo", result_shown=True)            # a stale click on a shown result
    assert records.latest(1, "monte_carlo")["id"] == rid


def test_a_newer_run_replaces_the_older_job(database):
    records = CalcRecords(database)
    old = records.start(1, "monte_carlo")
    assert still_running(records, 1, "monte_carlo", old)
    records.start(1, "monte_carlo")
    assert not still_running(records, 1, "monte_carlo", old)


def test_a_result_keeps_its_parameters_and_form(database):
    records = CalcRecords(database)
    rid = records.start(1, "monte_carlo")
    params = monte_carlo_parameters(FORM)
    run_recorded(records, rid, params, lambda *_: None, None, FORM)
    result = records.latest(1, "monte_carlo")["result"]
    assert result["parameters"] == params and result["form"] == FORM and result["scenarios"] == 120_000
