"""Page calculation records (SQLite and PostgreSQL): how a job ended is kept, and a job that died is never left "running"."""
from services.storage.calc_records import DEAD, KEEP, STALE_SECONDS, SUBMITTED, CalcRecords


def test_a_run_is_recorded_from_start_to_result(database):
    now = [1000.0]
    records = CalcRecords(database, clock=lambda: now[0])
    rid = records.start(7, "monte_carlo")
    records.progress(rid, 40, "400,000 of 1,000,000 scenarios")
    assert records.latest(7, "monte_carlo")["progress"] == 40
    records.complete(rid, {"p50": 1.5})
    latest = records.latest(7, "monte_carlo")
    assert latest["status"] == "completed" and latest["result"] == {"p50": 1.5}
    assert records.latest(8, "monte_carlo") is None                       # another user's runs are not yours


def test_a_cancelled_run_stays_cancelled_even_if_the_job_reports_later(database):
    records = CalcRecords(database)
    rid = records.start(1, "monte_carlo")
    records.fail(rid, "cancelled before it finished", status="cancelled")
    records.progress(rid, 90, "late")
    records.complete(rid, {"p50": 1})
    assert records.latest(1, "monte_carlo")["status"] == "cancelled"


def test_a_job_that_stopped_reporting_reads_as_failed(database):
    now = [1000.0]
    records = CalcRecords(database, clock=lambda: now[0])
    rid = records.start(1, "monte_carlo")
    records.progress(rid, 30, "300,000 of 1,000,000 scenarios")
    now[0] += STALE_SECONDS - 1
    assert records.latest(1, "monte_carlo")["status"] == "running"
    now[0] += 2                                                          # its process was killed mid-run
    latest = records.latest(1, "monte_carlo")
    assert latest["status"] == "failed" and latest["message"] == DEAD and "run it again" in DEAD


def test_the_silence_that_means_failed_is_configurable(database):
    from services.config import Config
    assert Config.from_env({}).calc_stale_seconds == STALE_SECONDS
    assert Config.from_env({"CALC_STALE_SECONDS": "12"}).calc_stale_seconds == 12
    now = [1000.0]
    records = CalcRecords(database, clock=lambda: now[0], stale_seconds=12)
    records.start(1, "monte_carlo")
    now[0] += 11
    assert records.latest(1, "monte_carlo")["status"] == "running"
    now[0] += 2
    assert records.latest(1, "monte_carlo")["status"] == "failed"


def test_a_job_that_died_before_its_first_report_reads_as_failed_just_as_soon(database):
    """The record is opened at submit (by the web process), so a job killed before it wrote anything
    is covered by the same rule, counted from the submit."""
    now = [1000.0]
    records = CalcRecords(database, clock=lambda: now[0])
    records.start(1, "monte_carlo")
    submitted = records.latest(1, "monte_carlo")
    assert (submitted["status"], submitted["progress"], submitted["message"]) == ("running", 0, SUBMITTED)
    now[0] += STALE_SECONDS + 0.5
    latest = records.latest(1, "monte_carlo")
    assert latest["status"] == "failed" and latest["message"] == DEAD


def test_only_the_newest_records_are_kept(database):
    now = [0.0]
    records = CalcRecords(database, clock=lambda: now[0])
    for _ in range(KEEP + 5):
        now[0] += 1
        records.start(1, "monte_carlo")
    assert len(records.db.query("SELECT id FROM calc_records WHERE user_id = 1")) == KEEP
