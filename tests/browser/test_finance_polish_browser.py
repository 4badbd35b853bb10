"""The finance pages in headless Chromium at 1440x900 and 390x844: Cancel wins over a late result, a
result carries its inputs across leaving and coming back, validation names the box, "follow the live
market rate" shows the rate it uses, the profitability-index hint follows the value, and the result
cards never break inside a number or a word, with no sideways scrolling on a phone, labelled fields,
one h1 and readable hints in both colour modes. Every test checks the console stayed clean."""
import time

import numpy as np
import psutil
import pytest
from axe_playwright_python.sync_playwright import Axe

from helpers import LiveServer, logged_in_page, page_state, wait_for
from services.finance import core
from services.storage.calc_records import CalcRecords
from services.storage.db import Database

VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
STATUS = "[data-testid=mc-status]"
INPUTS = "[data-testid=mc-result-inputs]"

# Elements whose Range spans more than one line box: a number (or a word of a title) split over two lines.
SPLIT_VALUES = """sel => [...document.querySelectorAll(sel)].filter(el => el.offsetParent !== null).map(el => {
  const range = document.createRange(); range.selectNodeContents(el);
  return {text: el.textContent, lines: range.getClientRects().length};
}).filter(v => v.text && v.lines !== 1)"""
SPLIT_WORDS = """sel => { const split = [];
  for (const el of document.querySelectorAll(sel)) {
    const node = el.firstChild;
    if (el.offsetParent === null || !node || node.nodeType !== 3) continue;
    for (const m of node.nodeValue.matchAll(/\\S+/g)) {
      const range = document.createRange(); range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
      if (range.getClientRects().length !== 1) split.push(m[0]);
    }
  }
  return split; }"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # One market step at start and none after: the live rate stays put while a test compares it.
    srv = LiveServer(tmp_path_factory.mktemp("finance"), SIMULATOR="off", MARKET_PERIOD=3600).start()
    yield srv
    srv.stop()


def at(browser, server, path, size):
    """A logged-in page of `size` (a VIEWPORTS key), without transitions (Bootstrap honours reduced motion),
    so a colour mode switched by a test is fully painted when it is checked."""
    return logged_in_page(browser, server, path, viewport=VIEWPORTS[size], reduced_motion="reduce")


def record(srv) -> dict | None:
    return CalcRecords(Database(srv.data_dir / "pulseboard.db")).latest(1, "monte_carlo")


def text(page, selector) -> str:
    return page.inner_text(selector).replace("\u00a0", " ")


def progress(page) -> int:
    return int(float(page.get_attribute("[data-testid=mc-progress] [role=progressbar]", "aria-valuenow") or 0))


def start_long_run(page, scenarios: int = 1_000_000, periods: int = 400) -> None:
    """Run `periods` x `scenarios` (1,000,000 x 400: several seconds of work); the form is filled in full,
    since it opens with the last result's inputs."""
    page.fill("#mc-flows", "\n".join(["150000"] * periods))
    page.fill("#mc-scenarios", str(scenarios))
    page.click("#mc-run")


def running_children(proc: psutil.Process) -> set:
    """The pids of `proc`'s descendants still running (a finished job's process may wait as a zombie)."""
    alive = set()
    for child in proc.children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def stays(predicate, seconds, what, page) -> None:
    """`predicate` holds for the whole of `seconds` (checked every 0.2 s): a state that must not change."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert predicate(), f"{what} stopped holding\n{page_state(page)}"
        time.sleep(0.2)


def assert_cards_whole(page) -> None:
    assert page.evaluate(SPLIT_VALUES, ".finance-number") == []
    assert page.evaluate(SPLIT_WORDS, ".finance-card .kpi-title, .finance-card .kpi-hint") == []


def assert_accessible(page) -> None:
    """Labelled fields, named progress bars, one h1 and hint contrast >= 4.5:1, light and dark."""
    assert page.evaluate("() => document.querySelectorAll('h1').length") == 1
    rules = ["label", "select-name", "aria-progressbar-name", "color-contrast"]
    for theme in ("light", "dark"):
        page.evaluate(f"() => document.documentElement.setAttribute('data-bs-theme', '{theme}')")
        options = {"runOnly": {"type": "rule", "values": rules}}
        found = Axe().run(page, context="#_pages_content", options=options).response["violations"]
        assert found == [], [(theme, v["id"], [(n["html"][:120], n["failureSummary"]) for n in v["nodes"]])
                             for v in found]


@pytest.mark.parametrize("size", VIEWPORTS)
def test_monte_carlo_before_and_after_a_run_reads_well(browser, server, size):
    page, errors = at(browser, server, "/monte-carlo", size)
    if record(server) is None:                       # the first visit: what a run will show, no blank axes
        wait_for(lambda: page.locator("[data-testid=mc-empty]").count() == 1, 20, "the empty state", page)
        assert "histogram" in page.inner_text("[data-testid=mc-empty]")
        assert page.locator(".js-plotly-plot").count() == 0
    before = (record(server) or {}).get("id")          # the other viewport's run may already read Completed
    page.fill("#mc-scenarios", "20000")
    page.click("#mc-run")
    wait_for(lambda: (r := record(server)) is not None and r["id"] != before and r["status"] == "completed", 60,
             "this run to complete", page)
    wait_for(lambda: "Completed" in page.inner_text(STATUS)
             and page.get_attribute("[role=progressbar]", "aria-valuetext") == "completed", 10,
             "the page to show this run completed", page)
    wait_for(lambda: page.locator("[data-testid=p50]").count() == 1, 10, "the cards", page)
    assert_cards_whole(page)
    assert page.evaluate(OVERFLOW) <= 0
    assert_accessible(page)
    assert errors == [], errors


@pytest.mark.parametrize("size", VIEWPORTS)
def test_calculator_results_never_break_inside_a_number(browser, server, size):
    page, errors = at(browser, server, "/calculators", size)
    wait_for(lambda: page.locator("[data-testid=npv]").count() == 1, 20, "the NPV card", page)
    assert len(text(page, "[data-testid=npv]")) >= 10                   # "534,687.77"-sized: the case seen split
    wait_for(lambda: page.locator("#calc-curve .js-plotly-plot").count() == 1, 15, "the NPV curve", page)
    assert_cards_whole(page)
    assert page.evaluate(OVERFLOW) <= 0
    assert_accessible(page)
    page.click("text=ROI & AI adoption")
    wait_for(lambda: page.locator("[data-testid=roi]").count() == 1, 10, "the ROI cards", page)
    assert_cards_whole(page)
    assert page.evaluate(OVERFLOW) <= 0
    page.keyboard.press("ArrowRight")             # tabs as WAI-ARIA describes them: the arrow keys move and select
    wait_for(lambda: page.get_attribute("#calc-tabs-tab-sensitivity", "aria-selected") == "true"
             and page.is_visible("#calc-tabs-pane-sensitivity") and not page.is_visible("#calc-tabs-pane-roi"), 10,
             "the Sensitivity tab chosen from the keyboard", page)
    assert page.evaluate("document.activeElement.id") == "calc-tabs-tab-sensitivity"
    page.goto(server.url + "/market")
    wait_for(lambda: "%" in page.inner_text("[data-testid=market-value] >> nth=0"), 20, "a market value", page)
    assert page.evaluate(OVERFLOW) <= 0
    assert_accessible(page)
    assert errors == [], errors


def test_cancel_wins_over_the_run_finishing(browser, server):
    server_proc = psutil.Process(server.proc.pid)
    before = running_children(server_proc)
    page, errors = at(browser, server, "/monte-carlo", "desktop")
    start_long_run(page, 300_000)                                # 6 chunks of 50,000
    wait_for(lambda: progress(page) >= 10, 60, "the run to report 10 %", page)
    page.click("#mc-cancel")
    wait_for(lambda: "Cancelled" in page.inner_text(STATUS), 10, "Cancelled", page)
    wait_for(lambda: running_children(server_proc) <= before, 60, "the job to end: nothing left to finish", page)
    # whatever the job handed back on its way out reaches the page within a few of the renderer's polls (0.4 s)
    stays(lambda: "Cancelled" in page.inner_text(STATUS) and page.locator("[data-testid=p50]").count() == 0,
          3, "'Cancelled' with no result after the job ended", page)
    assert record(server)["status"] == "cancelled"
    assert page.is_enabled("#mc-run") and page.is_disabled("#mc-cancel")
    page.reload()
    wait_for(lambda: "Cancelled" in page.inner_text(STATUS), 10, "still cancelled after a reload", page)
    assert errors == [], errors


def test_cancel_after_leaving_and_coming_back_stops_the_job(browser, server):
    """Dash's own Cancel cannot reach a job started before the page was opened again: the record does, and
    the job stops at its next chunk (a chunk's time read from its record), not at its end (10+ chunks later)."""
    server_proc = psutil.Process(server.proc.pid)
    before = running_children(server_proc)
    page, errors = at(browser, server, "/monte-carlo", "phone")
    start_long_run(page, periods=1000)
    wait_for(lambda: progress(page) > 0, 60, "the run to report progress", page)
    page.goto(server.url + "/calculators")
    wait_for(lambda: page.locator("[data-testid=npv]").count() == 1, 20, "the other page", page)
    page.goto(server.url + "/monte-carlo")
    wait_for(lambda: "Running" in page.inner_text(STATUS) and page.is_enabled("#mc-cancel"), 20,
             "the run picked up, with Cancel offered", page)
    first, first_at = record(server)["progress"], time.monotonic()
    later = wait_for(lambda: (r := record(server))["progress"] >= first + 10 and r["progress"], 60, "two chunks", page)
    chunk_seconds = (time.monotonic() - first_at) * 5 / (later - first)          # a chunk is 5 % of the run
    page.click("#mc-cancel")
    cancelled_at = time.monotonic()
    wait_for(lambda: "Cancelled" in page.inner_text(STATUS), 10, "Cancelled", page)
    wait_for(lambda: running_children(server_proc) <= before, 60, "the job to stop", page)
    assert time.monotonic() - cancelled_at < 6 * chunk_seconds, "the job did not stop at its next chunk"   # vs 12+
    assert record(server)["status"] == "cancelled"
    assert "Cancelled" in page.inner_text(STATUS) and page.locator("[data-testid=p50]").count() == 0
    assert errors == [], errors


def test_a_result_carries_its_inputs_after_leaving_and_coming_back(browser, server):
    page, errors = at(browser, server, "/monte-carlo", "phone")
    page.fill("#mc-scenarios", "30000")
    page.fill("#mc-seed", "7")
    page.click("#mc-run")
    wait_for(lambda: "Completed" in page.inner_text(STATUS), 60, "the run to complete", page)
    expected = "30,000 scenarios, seed 7."
    wait_for(lambda: text(page, INPUTS).endswith(expected), 10, "the result's inputs", page)
    assert text(page, INPUTS).startswith("Result for 10 cash flows of 150,000, discount rate 8.00 % ± 2.00 %")
    page.goto(server.url + "/calculators")
    wait_for(lambda: page.locator("[data-testid=npv]").count() == 1, 20, "the other page", page)
    page.goto(server.url + "/monte-carlo")
    wait_for(lambda: text(page, INPUTS).endswith(expected), 20, "the same inputs on coming back", page)
    assert page.input_value("#mc-scenarios") == "30000" and page.input_value("#mc-seed") == "7"   # the form too
    page.fill("#mc-seed", "8")
    wait_for(lambda: text(page, INPUTS).endswith("seed 7; the form has changed — Run again"), 10,
             "the note that the form no longer matches", page)
    assert errors == [], errors


def test_validation_names_the_box(browser, server):
    page, errors = at(browser, server, "/monte-carlo", "phone")
    page.fill("#mc-rate-mean", "-150")
    page.click("#mc-run")
    wait_for(lambda: "Discount rate mean must be between -99 % and 1,000 %" in text(page, "[data-testid=mc-error]"),
             10, "a message naming the box", page)
    assert "discount_rate" not in page.inner_text("[data-testid=mc-error]")
    assert errors == [], errors


def test_following_the_market_shows_the_rate_used(browser, server):
    page, errors = at(browser, server, "/calculators", "desktop")
    wait_for(lambda: page.locator("[data-testid=npv]").count() == 1, 20, "the NPV card", page)
    page.click("#calc-follow-market")
    wait_for(lambda: "Live market rate, as of" in page.inner_text("[data-testid=calc-rate-source]"), 20,
             "the rate box to say where its rate comes from", page)
    assert page.locator("[data-testid=calc-rate-source] time").count() == 1      # as of when, in the browser's zone
    assert page.is_disabled("#calc-rate")
    shown = float(page.input_value("#calc-rate"))
    flows = np.array([-1_000_000, 300_000, 400_000, 500_000, 450_000, 400_000], float)
    expected = f"{core.npv(shown / 100, flows):,.2f}"
    wait_for(lambda: page.inner_text("[data-testid=npv]") == expected, 10, f"NPV {expected} at the {shown} % shown",
             page)
    assert errors == [], errors


def test_a_negative_profitability_index_is_not_called_worth_doing(browser, server):
    page, errors = at(browser, server, "/calculators", "phone")
    wait_for(lambda: page.locator("[data-testid=pi]").count() == 1, 20, "the PI card", page)
    assert page.inner_text("[data-testid=pi-hint]").startswith("above 1: worth doing")
    page.fill("#calc-paste", "-100000\n-200000")
    page.click("#calc-use-paste")
    wait_for(lambda: page.inner_text("[data-testid=pi]").startswith("-"), 10, "a negative PI", page)
    hint = page.inner_text("[data-testid=pi-hint]")
    assert hint.startswith("negative: not worth doing"), hint
    assert_cards_whole(page)
    assert errors == [], errors
