"""A Monte Carlo job whose process is killed (SIGKILL: nothing of it runs again) turns the open page to
"Failed" within the documented bound, however early it died, and in both modes: the background
process of `python app.py` (embedded, DiskcacheManager) and a Celery worker (distributed).

A dead job is noticed by its record (services/storage/calc_records.py) going CALC_STALE_SECONDS without a
report (30 s by default; STALE here, still several times a chunk's time on a loaded machine); the open
page reads the record every second while a run is on (docs/ARCHITECTURE.md,
"Financial calculators"). Kills are placed by waiting on states (the record, its progress, the job's
process), never by sleeping."""
import signal
import subprocess
import sys
import time

import psutil
import pytest

from helpers import GUNICORN, ROOT, LiveServer, RedisServer, logged_in_page, wait_for
from services.storage.calc_records import CalcRecords
from services.storage.db import Database

LONG = "\n".join(["150000"] * 400)           # 1,000,000 scenarios x 400 periods: several seconds of work
STATUS = "[data-testid=mc-status]"
STALE = 12                                    # CALC_STALE_SECONDS of these servers
BOUND = STALE + 6                             # the rule (STALE s without a report) + the page's 1 s poll + a loaded machine


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("mc-kill"), SIMULATOR="off", MARKET_FEED="off",
                     CALC_STALE_SECONDS=STALE).start()
    yield srv
    srv.stop()


def record(srv) -> dict | None:
    """The admin's (user 1) latest Monte Carlo record, read from the server's database like any process would."""
    return CalcRecords(Database(srv.data_dir / "pulseboard.db"), stale_seconds=STALE).latest(1, "monte_carlo")


def kill(pids) -> None:
    for pid in pids:
        try:
            psutil.Process(pid).send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass


def new_children(proc: psutil.Process, before: set, timeout: float = 20) -> set:
    """The pids of `proc`'s new descendants as soon as there are any (polled every 5 ms, not wait_for's
    0.2 s: the job's first chunk, and with it its first report, may take well under a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = {p.pid for p in proc.children(recursive=True)} - before
        if new:
            return new
        time.sleep(0.005)
    raise AssertionError("the job's process never started")


def started_run(browser, srv):
    """A logged-in Monte Carlo page on which Run was just clicked, and the id of the record before it."""
    previous = (record(srv) or {}).get("id")
    page, errors = logged_in_page(browser, srv, "/monte-carlo")
    page.wait_for_selector("#mc-run")
    page.fill("#mc-flows", LONG)
    page.click("#mc-run")
    return page, errors, previous


def reporting(srv, page, previous: str | None) -> dict:
    """The new run's record, once it has made its first progress report."""
    return wait_for(lambda: (r := record(srv)) and r["id"] != previous and r["progress"] > 0 and r, 60,
                    "the job's first progress report", page)


def shows_failed(page, killed_at: float) -> None:
    wait_for(lambda: "Failed" in page.inner_text(STATUS), BOUND, f"'Failed' within {BOUND:.0f} s of the kill", page)
    assert time.monotonic() - killed_at < BOUND
    assert "stopped unexpectedly" in page.inner_text(STATUS)
    wait_for(lambda: page.is_enabled("#mc-run"), 10, "Run enabled again", page)


def test_a_job_killed_before_its_first_report_turns_failed(browser, server):
    server_proc = psutil.Process(server.proc.pid)
    before = {p.pid for p in server_proc.children(recursive=True)}
    page, errors, previous = started_run(browser, server)
    kill(new_children(server_proc, before))                 # at once: before its first progress report
    killed_at = time.monotonic()
    rec = record(server)            # opened at submit, before the job's process existed
    assert rec["id"] != previous and rec["status"] == "running" and rec["progress"] == 0, rec  # it died early
    shows_failed(page, killed_at)
    assert record(server)["status"] == "failed"
    page.reload()
    wait_for(lambda: "Failed" in page.inner_text(STATUS), 10, "still failed after a reload", page)
    assert errors == [], errors


def test_a_job_killed_mid_run_turns_failed(browser, server):
    server_proc = psutil.Process(server.proc.pid)
    before = {p.pid for p in server_proc.children(recursive=True)}
    page, errors, previous = started_run(browser, server)
    reporting(server, page, previous)
    kill({p.pid for p in server_proc.children(recursive=True)} - before)
    killed_at = time.monotonic()
    assert record(server)["status"] == "running"
    shows_failed(page, killed_at)
    assert errors == [], errors


@pytest.mark.distributed
def test_a_celery_worker_killed_mid_job_turns_failed(browser, tmp_path):
    redis_srv = RedisServer(tmp_path / "redis").start()
    web = LiveServer(tmp_path / "data", command=GUNICORN, REDIS_URL=redis_srv.url, SIMULATOR="off", WEB_CONCURRENCY=1,
                     CALC_STALE_SECONDS=STALE)
    log_path = tmp_path / "celery.log"
    celery = subprocess.Popen([sys.executable, "-m", "celery", "-A", "app:celery_app", "worker", "--concurrency", "1",
                               "--loglevel", "INFO"], cwd=ROOT, env=web.env, stdout=open(log_path, "w"),
                              stderr=subprocess.STDOUT)
    try:
        web.start()
        wait_for(lambda: "ready" in log_path.read_text(), 60, "the Celery worker")
        page, errors, previous = started_run(browser, web)
        reporting(web, page, previous)
        worker = psutil.Process(celery.pid)
        kill([p.pid for p in worker.children(recursive=True)] + [celery.pid])   # the whole worker, as a lost machine
        celery.wait(10)
        killed_at = time.monotonic()
        assert record(web)["status"] == "running"
        shows_failed(page, killed_at)
        assert record(web)["status"] == "failed"
        assert errors == [], errors
    finally:
        if celery.poll() is None:
            celery.kill()
            celery.wait(10)
        web.stop()
        redis_srv.stop()
