"""The calculator pages in headless Chromium: NPV from the table, inline errors, the Monte Carlo
background job with its progress bar, Cancel, and a result that waits for you on another page."""
import re

import pytest

from helpers import LiveServer, logged_in_page, wait_for

LONG = "\n".join(["150000"] * 400)           # 1,000,000 scenarios x 400 periods: several seconds of work


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("calc"), SIMULATOR="off", MARKET_PERIOD=0.5).start()
    yield srv
    srv.stop()


def progress(page) -> int:
    value = page.get_attribute("[data-testid=mc-progress] [role=progressbar]", "aria-valuenow")
    return int(float(value or 0))


def long_run_under_way(browser, server):
    """A logged-in Monte Carlo page with a long run started and reporting progress."""
    page, errors = logged_in_page(browser, server, "/monte-carlo")
    page.fill("#mc-flows", LONG)
    page.fill("#mc-scenarios", "1000000")          # the form opens with the last result's inputs
    page.click("#mc-run")
    wait_for(lambda: progress(page) > 0, 60, "the run to report progress", page)   # a loaded machine: 60 s
    return page, errors


def test_npv_from_the_table_and_errors_inline(browser, server):
    page, errors = logged_in_page(browser, server, "/calculators")
    wait_for(lambda: page.locator("[data-testid=npv]").count() == 1, 20, "the NPV card")
    assert re.match(r"^-?[\d,]+\.\d\d$", page.inner_text("[data-testid=npv]"))
    wait_for(lambda: page.locator(".js-plotly-plot").count() >= 1, 15, "the cash-flow chart", page)  # drawn after the card
    page.fill("#calc-paste", "300\n400\n500")                        # a column pasted from a spreadsheet
    page.click("#calc-use-paste")
    page.fill("#calc-investment", "1000")
    page.press("#calc-investment", "Enter")
    wait_for(lambda: page.inner_text("[data-testid=npv]") == "-21.04", 15, "NPV -21.04 at 10 %")
    assert "-19.12" in page.inner_text("#calc-cards")                # the spreadsheet convention beside it
    page.fill("#calc-rate", "-150")
    page.press("#calc-rate", "Enter")
    wait_for(lambda: "Discount rate must be between -99" in page.inner_text("[data-testid=calc-error]"), 10,
             "an inline error naming the box")
    page.click("#calc-follow-market")                                # the live market rate takes over
    wait_for(lambda: not page.is_visible("[data-testid=calc-error]"), 15, "the error to clear")
    wait_for(lambda: page.is_disabled("#calc-rate"), 10, "the rate field to follow the market", page)
    assert errors == [], errors


def test_monte_carlo_runs_in_the_background_with_progress(browser, server):
    page, errors = logged_in_page(browser, server, "/monte-carlo")
    page.fill("#mc-flows", LONG)
    page.click("#mc-run")
    seen = set()
    wait_for(lambda: seen.add(progress(page)) or "Completed" in page.inner_text("[data-testid=mc-status]"), 90,
             "the run to complete")
    assert len({v for v in seen if 0 < v < 100}) >= 2                 # the bar advanced while it ran
    wait_for(lambda: page.locator("[data-testid=p-negative]").count() == 1 and progress(page) == 100, 10,
             "the result and a full bar", page)
    page.fill("#mc-scenarios", "2000000")
    page.click("#mc-run")
    wait_for(lambda: "1,000,000" in page.inner_text("[data-testid=mc-error]"), 10, "the scenario limit")
    assert errors == [], errors


def test_cancel_stops_a_run(browser, server):
    page, errors = long_run_under_way(browser, server)
    page.click("#mc-cancel")
    wait_for(lambda: "Cancelled" in page.inner_text("[data-testid=mc-status]"), 10, "cancelled")
    wait_for(lambda: page.is_enabled("#mc-run"), 10, "Run enabled again")
    page.reload()
    wait_for(lambda: "Cancelled" in page.inner_text("[data-testid=mc-status]"), 10, "still cancelled after reload")
    assert errors == [], errors


def test_leaving_mid_run_and_coming_back_shows_the_result(browser, server):
    page, errors = long_run_under_way(browser, server)
    page.goto(server.url + "/calculators")                           # leave while it runs
    wait_for(lambda: page.locator("[data-testid=npv]").count() == 1, 20, "the other page")
    page.goto(server.url + "/monte-carlo")                           # come back (running or done)
    wait_for(lambda: "Completed" in page.inner_text("[data-testid=mc-status]"), 90, "the result to be there")
    wait_for(lambda: page.locator("[data-testid=p50]").count() == 1, 10, "the P50 figure", page)
    assert errors == [], errors


@pytest.mark.distributed
def test_monte_carlo_runs_on_a_celery_worker_in_distributed_mode(browser, tmp_path):
    import subprocess
    import sys

    from helpers import GUNICORN, ROOT, RedisServer
    redis_srv = RedisServer(tmp_path / "redis").start()
    web = LiveServer(tmp_path / "data", command=GUNICORN, REDIS_URL=redis_srv.url, SIMULATOR="off", WEB_CONCURRENCY=2)
    log = open(tmp_path / "celery.log", "w")
    celery = subprocess.Popen([sys.executable, "-m", "celery", "-A", "app:celery_app", "worker", "--concurrency", "1",
                               "--loglevel", "INFO"], cwd=ROOT, env=web.env, stdout=log, stderr=subprocess.STDOUT)
    try:
        web.start()
        wait_for(lambda: "ready" in (tmp_path / "celery.log").read_text(), 60, "the Celery worker")
        page, errors = logged_in_page(browser, web, "/monte-carlo")
        page.fill("#mc-flows", "\n".join(["150000"] * 50))
        page.click("#mc-run")
        wait_for(lambda: "Completed" in page.inner_text("[data-testid=mc-status]"), 90, "the Celery job to finish")
        wait_for(lambda: page.locator("[data-testid=p-negative]").count() == 1, 10, "the result", page)
        assert "succeeded" in (tmp_path / "celery.log").read_text()          # it really ran on the worker
        assert errors == [], errors
    finally:
        celery.terminate()
        celery.wait(15)
        web.stop()
        redis_srv.stop()
