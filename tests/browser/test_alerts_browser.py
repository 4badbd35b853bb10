"""The alert workflow in a real headless Chromium: acknowledge, resolve, a second tab follows, filters,
alert text shown as text, an API failure shown inline, and missed alerts shown once after a reconnect."""
from helpers import LiveServer, logged_in_page, status, wait_for

ITEM = "[data-testid=alert-item]"
XSS = "<img src=x onerror=alert(1)>"


def insert_alerts(server, *specs):
    """Alerts stored the way the pipeline stores them (published only through a later snapshot)."""
    from services.storage.alerts import AlertStore
    from services.storage.db import Database
    store = AlertStore(Database(server.data_dir / "pulseboard.db"))
    alerts = [{"event_id": event_id, "priority": priority, "timestamp": "2026-11-24T13:00:00.000Z", "store": 1,
               "dept": 2, "risk_score": 90 if priority == "CRITICAL" else 70, "message": message, "why": "test"}
              for event_id, priority, message in specs]
    return [a["id"] for a in store.save("default", alerts)]


def item(page, alert_id):
    return page.locator(f"{ITEM}[data-alert-id='{alert_id}']")


def shown_ids(page):
    return [int(i) for i in page.locator(ITEM).evaluate_all("els => els.map(e => e.dataset.alertId)")]


def status_of(page, alert_id):
    return item(page, alert_id).locator("[data-testid=alert-status]").inner_text()


def test_acknowledge_resolve_filter_and_reconnect(browser, tmp_path):  # noqa: F811
    server = LiveServer(tmp_path / "srv", SIMULATOR="off", MARKET_FEED="off").start()
    try:
        xss, crit, high = insert_alerts(server, ("x1", "HIGH", XSS), ("c1", "CRITICAL", "Sales spike at store 1, dept 2"),
                                        ("h1", "HIGH", "Sales drop at store 1, dept 2"))
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page, errors = logged_in_page(browser, server, "/", context=context)
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        wait_for(lambda: status(page) == "Live", 20, "Live status")
        wait_for(lambda: page.locator(ITEM).count() == 3, 20, "three alerts")
        assert XSS in item(page, xss).inner_text()                      # the markup is text...
        assert page.locator(".alert-list img").count() == 0 and dialogs == []   # ...never an element
        other = context.new_page()
        other.goto(server.url + "/")
        wait_for(lambda: item(other, crit).count() == 1, 20, "the alert in the second tab")

        assert status_of(page, crit) == "Open"
        item(page, crit).locator("[data-alert-action=acknowledge]").click()
        wait_for(lambda: status_of(page, crit).startswith("Acknowledged by admin"), 10, "acknowledged")
        wait_for(lambda: status_of(other, crit).startswith("Acknowledged by admin"), 10, "acknowledged in the other tab")
        assert item(page, crit).locator("[data-alert-action=acknowledge]").count() == 0
        item(page, crit).locator("[data-alert-action=resolve]").click()
        wait_for(lambda: status_of(page, crit).startswith("Resolved by admin"), 10, "resolved")
        wait_for(lambda: status_of(other, crit).startswith("Resolved by admin"), 10, "resolved in the other tab")
        assert item(page, crit).locator("button").count() == 0          # nothing left to do
        assert "acknowledged by admin" in status_of(page, crit)

        page.select_option("[data-testid=alert-filter-status] select", "resolved")
        wait_for(lambda: shown_ids(page) == [crit], 10, "only the resolved alert")
        page.select_option("[data-testid=alert-filter-status] select", "open")
        wait_for(lambda: shown_ids(page) == [high, xss], 10, "the open alerts, newest first")
        page.select_option("[data-testid=alert-filter-priority] select", "CRITICAL")
        wait_for(lambda: "No alerts match" in page.inner_text("[data-testid=alert-list]"), 10, "no open CRITICAL")
        page.select_option("[data-testid=alert-filter-status] select", "all")
        page.select_option("[data-testid=alert-filter-priority] select", "all")
        wait_for(lambda: shown_ids(page) == [high, crit, xss], 10, "every alert again")
        assert errors == [], errors

        server.stop()                                   # offline: new alerts arrive meanwhile
        wait_for(lambda: status(page) != "Live", 15, "the page to notice")
        item(page, high).locator("[data-alert-action=acknowledge]").click()
        wait_for(lambda: "Could not reach the server" in page.inner_text("[data-testid=alert-error]"), 10,
                 "an inline error")
        ours = [e for e in errors if "ERR_CONNECTION_REFUSED" not in e and "WebSocket" not in e]
        assert ours == [], ours                         # only the browser's own network notes, nothing of ours
        missed = insert_alerts(server, ("m1", "HIGH", "missed one"), ("m2", "CRITICAL", "missed two"))
        server.start()
        wait_for(lambda: status(page) == "Live", 40, "Live again")
        wait_for(lambda: set(missed) <= set(shown_ids(page)), 20, "the missed alerts")
        ids = shown_ids(page)
        assert sorted(ids, reverse=True) == ids and len(ids) == len(set(ids)) == 5     # each exactly once
        assert status_of(page, crit).startswith("Resolved by admin")    # statuses survive the reconnect
        context.close()
    finally:
        server.stop()
