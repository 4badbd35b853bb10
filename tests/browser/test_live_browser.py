"""The Live dashboard in a real headless Chromium: log in, live data, alerts, two tabs, reconnect."""
import uuid
from datetime import datetime, timezone

import requests

from helpers import ADMIN_PASSWORD, KPI, LiveServer, logged_in_page, status, wait_for


def first_kpi(page):
    return page.locator(KPI).first.inner_text().strip()


def kpi_changes(page, timeout=15):
    before = first_kpi(page)
    wait_for(lambda: first_kpi(page) not in (before, "", "—"), timeout, f"first KPI to change from {before!r}")


def test_live_dashboard_end_to_end(browser, tmp_path):
    server = LiveServer(tmp_path / "srv", SIM_RATE=30, SIM_ANOMALY_RATE=0.05).start()
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.goto(server.url + "/")
        assert "/login" in page.url                                     # anonymous -> login page
        page.fill("#username", "admin")
        page.fill("#password", ADMIN_PASSWORD)
        page.click("#login-submit")
        wait_for(lambda: status(page) == "Live", 20, "Live status")
        assert page.locator(KPI).count() == 7
        kpi_changes(page)
        wait_for(lambda: page.locator("[data-testid=alert-item]").count() > 0, 30, "an alert")
        alert_text = page.locator("[data-testid=alert-item]").first.inner_text()
        assert "HIGH" in alert_text or "CRITICAL" in alert_text
        wait_for(lambda: page.locator("[data-testid=points-body] tr").count() > 0, 10, "points rows")
        wait_for(lambda: page.locator(".js-plotly-plot").count() == 1, 15, "the live chart", page)

        second = context.new_page()                                     # several tabs update together
        second.goto(server.url + "/")
        wait_for(lambda: status(second) == "Live", 20, "Live in the second tab")
        kpi_changes(second)
        assert errors == [], errors                                     # a clean page while all is well

        server.stop()                                                   # the server goes away...
        wait_for(lambda: status(page) in ("Reconnecting…", "Offline"), 15, "Reconnecting after stop")
        server.start()                                                  # ...and comes back
        wait_for(lambda: status(page) == "Live", 40, "Live again after restart")
        wait_for(lambda: status(second) == "Live", 40, "Live again in the second tab")
        kpi_changes(page, timeout=20)                                   # fresh values, no reload
        context.close()
    finally:
        server.stop()


def test_assets_page_shows_health_per_asset_and_latest_readings(browser, tmp_path):
    server = LiveServer(tmp_path / "srv", SIM_RATE=40, SIM_PROFILE="mixed", SIM_ANOMALY_RATE=0.1).start()
    try:
        page, errors = logged_in_page(browser, server, "/login?next=/assets")
        wait_for(lambda: status(page) == "Live", 20, "Live status")
        wait_for(lambda: page.locator("[data-testid=asset-card]").count() == 6, 20, "six asset cards")
        wait_for(lambda: page.locator("[data-testid=readings-body] tr").count() >= 12, 20, "readings of many sensors")
        row = page.locator("[data-testid=readings-body] tr").first.inner_text()
        assert "compressor-" in row or "pump-" in row
        assert any(unit in row for unit in ("°C", "mm/s", "bar", " A"))
        wait_for(lambda: page.locator("[data-testid=sensor-alert]").count() > 0, 40, "a sensor alert")
        assert "on " in page.locator("[data-testid=sensor-alert]").first.inner_text()
        page.goto(server.url + "/")                                     # the Live page still shows retail only
        wait_for(lambda: page.locator("[data-testid=points-body] tr").count() > 0, 20, "retail points")
        assert "Asset" not in page.inner_text(".health-list")
        assert errors == [], errors
    finally:
        server.stop()


def test_market_page_shows_live_indicators_and_keeps_them_after_a_reload(browser, tmp_path):
    server = LiveServer(tmp_path / "srv", SIMULATOR="off", MARKET_PERIOD=0.3).start()
    try:
        page, errors = logged_in_page(browser, server, "/login?next=/market")
        wait_for(lambda: status(page) == "Live", 20, "Live status")
        values = lambda: [v.inner_text().strip() for v in page.query_selector_all("[data-testid=market-value]")]  # noqa: E731
        wait_for(lambda: len(values()) == 5 and all(v.endswith("%") or v[0].isdigit() for v in values()), 20,
                 "five indicator values")
        first = values()
        wait_for(lambda: values() != first, 10, "the values to move")
        wait_for(lambda: "since open" in page.inner_text("[data-testid=market-change] >> nth=0"), 10, "change text")
        page.reload()
        wait_for(lambda: status(page) == "Live", 20, "Live after reload")
        wait_for(lambda: len(page.query_selector_all("#market-history .scatterlayer .trace")) == 1, 10, "history chart")
        assert all(v not in ("", "—") for v in values())
        assert errors == [], errors
    finally:
        server.stop()


def test_new_alerts_pop_up_as_a_toast_and_go_away(browser, tmp_path):
    server = LiveServer(tmp_path / "srv", SIM_RATE=40, SIM_ANOMALY_RATE=0.2).start()
    try:
        page, errors = logged_in_page(browser, server, "/")
        wait_for(lambda: status(page) == "Live", 20, "Live status")
        wait_for(lambda: page.locator("[data-testid=toast]").count() > 0, 30, "a toast")
        text = page.locator("[data-testid=toast]").first.inner_text()
        assert "new alert" in text and ("store" in text or "dept" in text)
        assert page.locator("[data-testid=toast]").count() <= 4
        assert errors == [], errors
        server.stop()                                                   # no more alerts: the toasts expire
        wait_for(lambda: page.locator("[data-testid=toast]").count() == 0, 15, "the toasts to go")
    finally:
        server.stop()


def test_logging_out_in_one_tab_signs_the_other_tab_out(browser, tmp_path):
    server = LiveServer(tmp_path / "srv", SIM_RATE=10).start()
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page, errors = logged_in_page(browser, server, "/", context=context)
        wait_for(lambda: status(page) == "Live", 20, "Live status")
        other = context.new_page()
        other.goto(server.url + "/market")
        wait_for(lambda: status(other) == "Live", 20, "Live in the other tab")
        page.bring_to_front()                     # the user signs out in the tab they are looking at
        page.click("text=Log out")                                      # a form post with its CSRF token
        # wait_for_url, not a loop reading .url: the sync API only learns of a navigation while it waits
        page.wait_for_url("**/login**", timeout=30000)
        other.wait_for_url("**/login**", timeout=30000)               # its socket closed with 4001
        assert errors == [], errors
    finally:
        server.stop()


def test_a_page_asks_again_when_its_snapshot_request_is_lost(browser, tmp_path):
    """The page learns what happened before it opened only from the snapshot. Drop the page's first
    snapshot request on its way to the server: the page must ask again and still show the reading."""
    server = LiveServer(tmp_path / "srv", SIMULATOR="off").start()
    try:
        key = server.session().post(server.url + "/api/v1/keys", json={"name": "probe"}).json()["key"]
        reading = {"event_id": uuid.uuid4().hex, "timestamp": datetime.now(timezone.utc).isoformat(),
                   "asset_id": "probe-asset", "sensor_id": "probe-temp", "sensor_type": "temperature",
                   "value": 20.5, "unit": "C", "quality": "good"}
        assert requests.post(server.url + "/api/v1/iot", json=reading, headers={"X-API-Key": key}).status_code == 202
        session = server.session()
        wait_for(lambda: session.get(server.url + "/api/live-data").json()["sensors"], 20, "the reading stored")

        requests_seen = []

        def relay(route):
            upstream = route.connect_to_server()

            def from_page(message):
                if '"snapshot"' in str(message):
                    requests_seen.append(message)
                    if len(requests_seen) == 1:
                        return                                  # lost on the way
                upstream.send(message)
            route.on_message(from_page)
            upstream.on_message(lambda message: route.send(message))
        context = browser.new_context()
        context.route_web_socket("**/ws*", relay)
        page, errors = logged_in_page(browser, server, "/login?next=/assets", context=context)
        wait_for(lambda: "probe-asset" in page.inner_text("[data-testid=readings-body]"), 20,
                 "the reading from the second snapshot", page)
        assert len(requests_seen) == 2
        assert errors == [], errors
        context.close()
    finally:
        server.stop()
