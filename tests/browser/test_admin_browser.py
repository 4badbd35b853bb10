"""The Admin page in headless Chromium: users, keys, data source, thresholds and the audit log."""
import re

import pytest

from helpers import LiveServer, logged_in_page, wait_for

expect = pytest.importorskip("playwright.sync_api").expect
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("admin"), SIM_RATE=10).start()
    yield server
    server.stop()


def notice(page, tab_msg_id):
    """The notice of one tab (each tab has its own, and an earlier tab's stays on the page: the Users tab
    still says "User disabled" while the key is being created). Assert on it with expect(...), which waits
    for the text the action should bring, never on a read taken right after the click."""
    return page.locator(f"#{tab_msg_id} [data-testid=admin-notice]")


def test_an_admin_manages_the_tenant_from_the_page(browser, srv):
    page, errors = logged_in_page(browser, srv, "/admin")
    page.wait_for_selector("[data-testid=admin-users-table]", timeout=20000)
    page.fill("#admin-new-name", "nina")
    page.fill("#admin-new-password", "nina-password-1")
    page.click("#admin-create-user")
    wait_for(lambda: "nina" in page.inner_text("[data-testid=admin-users-table]"), 15, "nina in the table")
    nina = srv.session("nina", "nina-password-1")                     # nina signed in elsewhere
    page.select_option("#admin-pick-user", label="nina (analyst)")
    page.click("#admin-sign-out")
    expect(notice(page, "admin-users-msg")).to_contain_text("signed out everywhere", timeout=TIMEOUT_MS)
    assert nina.get(srv.url + "/api/live-data").status_code == 401
    page.click("#admin-disable")
    expect(notice(page, "admin-users-msg")).to_contain_text("User disabled", timeout=TIMEOUT_MS)
    wait_for(lambda: "disabled" in page.inner_text("[data-testid=admin-users-table]"), 15, "nina disabled")

    page.click("text=API keys")
    page.fill("#admin-key-name", "gateway")
    page.click("#admin-create-key")
    expect(notice(page, "admin-keys-msg")).to_contain_text(re.compile(r"Key for gateway: pb_\w+_\S+"),
                                                          timeout=TIMEOUT_MS)   # shown once, on creation
    wait_for(lambda: "gateway" in page.inner_text("[data-testid=admin-keys-table]"), 15, "the key listed")

    page.click("text=Alert thresholds")
    page.fill("#admin-thr-high", "90")
    page.click("#admin-save-thresholds")
    expect(notice(page, "admin-thr-msg")).to_contain_text("must rise", timeout=TIMEOUT_MS)
    page.fill("#admin-thr-high", "70")
    page.click("#admin-save-thresholds")      # the error above stays until the answer replaces it
    expect(notice(page, "admin-thr-msg")).to_contain_text("Thresholds saved", timeout=TIMEOUT_MS)

    page.click("text=Data source")
    expect(page.locator("#admin-redis")).to_contain_text("embedded mode", timeout=TIMEOUT_MS)
    page.fill("#admin-sim-rate", "25")
    page.click("#admin-save-source")
    expect(notice(page, "admin-source-msg")).to_contain_text("applied within a few seconds", timeout=TIMEOUT_MS)

    page.click("text=Audit log")
    wait_for(lambda: "source.update" in page.inner_text("#admin-audit"), 15, "the audit log")
    text = page.inner_text("#admin-audit")
    for action in ("user.create", "user.sign_out", "user.disable", "api_key.create", "thresholds.update"):
        assert action in text
    assert errors == []
    srv.session().put(srv.url + "/api/v1/admin/thresholds", json={"medium": 40, "high": 60, "critical": 80})


def test_an_analyst_gets_the_403_notice_and_no_admin_link(browser, srv):
    srv.session().post(srv.url + "/api/v1/admin/users", json={"username": "otto", "password": "otto-password-1"})
    page = browser.new_page()
    page.goto(srv.url + "/admin")
    page.fill("#username", "otto")
    page.fill("#password", "otto-password-1")
    page.click("#login-submit")
    page.wait_for_selector("[data-testid=admin-forbidden]", timeout=20000)
    assert page.locator("a.nav-link", has_text="Admin").count() == 0
    assert page.locator("#admin-create-user").count() == 0
