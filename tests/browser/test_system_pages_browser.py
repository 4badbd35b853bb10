"""The System and Stream log pages in a real headless Chromium."""

from helpers import logged_in_page, status, wait_for


def rows(page):
    return page.locator("[data-testid=stream-row]")


def counter(page):
    return page.inner_text("[data-testid=stream-counter]")


def test_system_and_stream_log_pages_in_chromium(browser, server):
    page, errors = logged_in_page(browser, server, "/login?next=/system")
    wait_for(lambda: status(page) == "Live", 20, "Live status")
    wait_for(lambda: page.locator("[data-testid=system-card]").count() >= 10, 20, "system cards")
    value = lambda key: page.inner_text(f"[data-testid=system-value-{key}]").strip()   # noqa: E731
    wait_for(lambda: value("out") not in ("", "—", "0"), 20, "events out per second")
    assert value("memory").endswith("MB") and value("redis") == "not used"
    first = page.inner_text("#system-updated")
    wait_for(lambda: page.inner_text("#system-updated") != first, 10, "a later update")
    assert "system" in page.inner_text("[data-testid=system-connections]")
    assert "embedded" in page.inner_text("[data-testid=system-processes]")
    assert "diskcache" in page.inner_text("[data-testid=system-cache]")
    wait_for(lambda: page.locator("#system-rate-chart .scatterlayer .trace").count() == 2, 10, "the rate chart's two lines")

    page.goto(server.url + "/stream")
    wait_for(lambda: status(page) == "Live", 20, "Live status on /stream")
    wait_for(lambda: rows(page).count() >= 20, 20, "messages in the stream log")
    assert rows(page).count() <= 200
    assert any(t in page.inner_text("[data-testid=stream-rows]") for t in ("iot_update", "kpi_update"))

    page.click("#stream-pause")
    wait_for(lambda: "Paused" in counter(page), 5, "paused")
    held = rows(page).first.inner_text()
    wait_for(lambda: int(counter(page).split("Paused: ")[1].split(" new")[0]) >= 10, 20, "new messages counted")
    assert rows(page).first.inner_text() == held                  # the list stood still meanwhile
    assert page.inner_text("#stream-pause") == "Resume"
    page.click("#stream-pause")
    wait_for(lambda: rows(page).first.inner_text() != held, 10, "the list to move again")
    assert "Paused" not in counter(page) and page.inner_text("#stream-pause") == "Pause"

    for channel in ("iot", "alerts", "kpis"):                     # system only: the server stops the rest
        page.get_by_label(channel, exact=True).uncheck()
    # Frames already on their way may still land: wait until the newest three rows are system
    # updates (1/s). While kpis (4/s) were subscribed no three system rows could be adjacent, so
    # everything before them was in flight; clear then.
    row_types = lambda: [t.strip() for t in page.locator("[data-testid=stream-row] .stream-type").all_inner_texts()]  # noqa: E731
    wait_for(lambda: row_types()[:3] == ["system_update"] * 3, 15, "only system updates arriving")
    oldest = rows(page).last.element_handle()
    page.click("#stream-clear")
    oldest.wait_for_element_state("hidden", timeout=10000)       # the clear has run (a click only queues it)
    wait_for(lambda: rows(page).count() >= 2, 15, "system messages only")
    types = {t.strip() for t in page.locator("[data-testid=stream-row] .stream-type").all_inner_texts()}
    assert types <= {"system_update", "snapshot"}, types
    assert errors == [], errors
