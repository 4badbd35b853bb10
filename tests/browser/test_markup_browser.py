"""Text-only rendering (issue 6) in a real headless Chromium: markup in pushed data and in names is shown
as text, never run. The other security rules are tried over HTTP/WebSocket in integration/test_security.py."""
import uuid
from datetime import datetime, timezone

import pytest
import requests

from helpers import LiveServer, logged_in_page, wait_for

MARKUP = '<img src=x onerror="window.__xss=1">'


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("markup"), SIM_RATE=20).start()
    yield server
    server.stop()


def test_markup_in_pushed_data_and_names_shows_as_text(browser, srv):
    admin = srv.session()
    key = admin.post(srv.url + "/api/v1/keys", json={"name": MARKUP}).json()["key"]
    reading = {"event_id": uuid.uuid4().hex, "timestamp": datetime.now(timezone.utc).isoformat(), "asset_id": MARKUP,
               "sensor_id": "s1", "sensor_type": "temperature", "value": 20.5, "unit": "C", "quality": "good"}
    assert requests.post(srv.url + "/api/v1/iot", json=reading, headers={"X-API-Key": key}).status_code == 202
    stored = lambda: any(r["asset_id"] == MARKUP for r in admin.get(srv.url + "/api/live-data").json()["sensors"])  # noqa: E731
    wait_for(stored, 20, "the reading to be scored and stored")
    page, errors = logged_in_page(browser, srv, "/login?next=/assets")
    wait_for(lambda: MARKUP in page.inner_text("body"), 30, "the asset named with markup, as text", page)
    page.goto(srv.url + "/admin")
    page.click("text=API keys")
    wait_for(lambda: MARKUP in page.inner_text("body"), 15, "the key named with markup, as text", page)
    assert page.locator("img[src=x]").count() == 0
    assert page.evaluate("window.__xss") is None
    assert errors == []
