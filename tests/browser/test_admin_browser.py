"""The Admin page in headless Chromium: users, keys, data source, thresholds and the audit log; its grids
(sorting, CSV export, readable audit detail), the copy button of a new key, the dialog before disabling a
user, labels on every field, one h1, and no sideways scrolling on a phone."""
import re

import pytest

from helpers import LiveServer, logged_in_page, wait_for

expect = pytest.importorskip("playwright.sync_api").expect
TIMEOUT_MS = 15_000
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


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


def column(page, table_testid, col_id) -> list[str]:
    """A grid column's texts in the order shown (rows by their aria-rowindex, whatever the DOM order)."""
    return page.eval_on_selector_all(
        f"[data-testid={table_testid}] .ag-center-cols-container .ag-row",
        """(rows, col) => rows.map(r => [Number(r.getAttribute('aria-rowindex')),
                                         (r.querySelector(`[col-id="${col}"]`) || {}).textContent || ''])
                              .sort((a, b) => a[0] - b[0]).map(p => p[1].trim())""", col_id)


def open_tab(page, key):
    """Click a tab and wait until it is the one shown, its panel named by it (role=tab, aria-controls)."""
    page.click(f"#admin-tabs-tab-{key}")
    expect(page.locator(f"#admin-tabs-tab-{key}")).to_have_attribute("aria-selected", "true", timeout=TIMEOUT_MS)
    panel = page.locator(f"#{page.get_attribute(f'#admin-tabs-tab-{key}', 'aria-controls')}")
    expect(panel).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("[role=tabpanel]:visible")).to_have_count(1)


def confirm_dialog(page):
    return page.locator(".modal.show")


def test_an_admin_manages_the_tenant_from_the_page(browser, srv):
    page, errors = logged_in_page(browser, srv, "/admin")
    page.wait_for_selector("[data-testid=admin-users-table] .ag-row", timeout=20000)
    page.fill("#admin-new-name", "nina")
    page.fill("#admin-new-password", "nina-password-1")
    page.click("#admin-create-user")
    wait_for(lambda: "nina" in page.inner_text("[data-testid=admin-users-table]"), 15, "nina in the table")
    expect(page.locator("#admin-new-name")).to_have_value("", timeout=TIMEOUT_MS)        # the form is emptied
    nina = srv.session("nina", "nina-password-1")                     # nina signed in elsewhere
    page.select_option("#admin-pick-user", label="nina (analyst)")
    page.click("#admin-sign-out")
    expect(notice(page, "admin-users-msg")).to_contain_text("signed out everywhere", timeout=TIMEOUT_MS)
    assert nina.get(srv.url + "/api/live-data").status_code == 401
    page.click("#admin-disable")
    expect(confirm_dialog(page)).to_contain_text("Disable nina (analyst)?", timeout=TIMEOUT_MS)
    page.click("#admin-confirm-ok")
    expect(notice(page, "admin-users-msg")).to_contain_text("User disabled", timeout=TIMEOUT_MS)
    wait_for(lambda: "disabled" in page.inner_text("[data-testid=admin-users-table]"), 15, "nina disabled")

    open_tab(page, "keys")
    page.fill("#admin-key-name", "gateway")
    page.click("#admin-create-key")
    expect(notice(page, "admin-keys-msg")).to_contain_text(re.compile(r"Key for gateway: pb_\w+_\S+"),
                                                          timeout=TIMEOUT_MS)   # shown once, on creation
    wait_for(lambda: "gateway" in page.inner_text("[data-testid=admin-keys-table]"), 15, "the key listed")
    expect(page.locator("#admin-key-name")).to_have_value("", timeout=TIMEOUT_MS)

    open_tab(page, "thresholds")
    page.fill("#admin-thr-high", "90")
    page.click("#admin-save-thresholds")
    expect(notice(page, "admin-thr-msg")).to_contain_text("must rise", timeout=TIMEOUT_MS)
    page.fill("#admin-thr-high", "70")
    page.click("#admin-save-thresholds")      # the error above stays until the answer replaces it
    expect(notice(page, "admin-thr-msg")).to_contain_text("Thresholds saved", timeout=TIMEOUT_MS)

    open_tab(page, "source")
    expect(page.locator("#admin-redis")).to_contain_text("embedded mode", timeout=TIMEOUT_MS)
    page.fill("#admin-sim-rate", "25")
    page.click("#admin-save-source")
    expect(notice(page, "admin-source-msg")).to_contain_text("applied within a few seconds", timeout=TIMEOUT_MS)

    open_tab(page, "audit")
    audit = page.locator("[data-testid=admin-audit-table]")
    expect(audit).to_contain_text("source.update", timeout=TIMEOUT_MS)
    text = audit.inner_text()
    for action in ("user.create", "user.sign_out", "user.disable", "api_key.create", "thresholds.update"):
        assert action in text
    assert re.search(r"high: \d+ → 70", text) and re.search(r"rate: [\d.]+ → 25", text), text   # not raw JSON
    assert "name: gateway" in text and "{" not in text
    assert errors == []
    srv.session().put(srv.url + "/api/v1/admin/thresholds", json={"medium": 40, "high": 60, "critical": 80})


def unlabelled_fields(page) -> list[str]:
    """Ids of the visible inputs and selects of the page that no label names (AG Grid's own are in its popups)."""
    return page.eval_on_selector_all(
        "main input:not([type=hidden]), main select, main textarea",
        """els => els.filter(e => e.offsetParent !== null && !e.closest('.ag-root-wrapper'))
                      .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                                   && !e.getAttribute('aria-labelledby'))
                      .map(e => e.id || e.outerHTML.slice(0, 80))""")


def overflow(page) -> int:
    """How far the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_grids_sort_copy_confirm_and_labels_on_desktop_and_phone(browser, srv, size):
    admin = srv.session()
    for name in (f"zoe-{size}", f"abe-{size}"):
        assert admin.post(srv.url + "/api/v1/admin/users", json={"username": name, "password": "password-123"}).ok
    page, errors = logged_in_page(browser, srv, "/admin", viewport=SIZES[size],
                                  permissions=["clipboard-read", "clipboard-write"])
    page.wait_for_selector(f"[data-testid=admin-users-table] .ag-row :text('zoe-{size}')", timeout=20000)
    assert page.locator("h1").count() == 1 and unlabelled_fields(page) == [] and overflow(page) <= 0

    header = page.locator("[data-testid=admin-users-table] .ag-header-cell[col-id=username]")
    header.locator(".ag-header-cell-label").click()
    expect(header).to_have_attribute("aria-sort", "ascending", timeout=TIMEOUT_MS)
    names = column(page, "admin-users-table", "username")
    assert names == sorted(names, key=str.lower)
    header.locator(".ag-header-cell-label").click()
    expect(header).to_have_attribute("aria-sort", "descending", timeout=TIMEOUT_MS)
    assert column(page, "admin-users-table", "username") == names[::-1]
    with page.expect_download() as download:
        page.click("#admin-users-csv")
    assert download.value.suggested_filename == "users.csv"
    exported = open(download.value.path(), encoding="utf-8-sig").read().splitlines()
    assert exported[0] == '"User","Role","Status","Created"'
    abe = next(line for line in exported if line.startswith(f'"abe-{size}"'))
    assert re.fullmatch(rf'"abe-{size}","analyst","active","\d{{4}}-\d\d-\d\dT[\d:.]+(Z|\+00:00)"', abe)  # exact

    page.select_option("#admin-pick-user", label=f"abe-{size} (analyst)")
    page.click("#admin-disable")
    expect(confirm_dialog(page)).to_contain_text(f"Disable abe-{size} (analyst)?", timeout=TIMEOUT_MS)
    assert overflow(page) <= 0
    page.click("#admin-confirm-cancel")
    expect(confirm_dialog(page)).to_have_count(0, timeout=TIMEOUT_MS)
    users = {u["username"]: u for u in admin.get(srv.url + "/api/v1/admin/users").json()["users"]}
    assert users[f"abe-{size}"]["active"] is True                     # Cancel changed nothing
    status = dict(zip(column(page, "admin-users-table", "username"), column(page, "admin-users-table", "status")))
    assert status[f"abe-{size}"] == "active"

    page.select_option("#admin-pick-role", "admin")
    page.click("#admin-set-role")
    expect(notice(page, "admin-users-msg")).to_contain_text("Role set to admin", timeout=TIMEOUT_MS)

    open_tab(page, "keys")
    page.fill("#admin-key-name", f"copy-{size}")
    page.click("#admin-create-key")
    key_field = page.locator("#admin-new-key")
    expect(key_field).to_have_value(re.compile(r"^pb_\w+_\S+$"), timeout=TIMEOUT_MS)
    assert unlabelled_fields(page) == [] and overflow(page) <= 0
    page.click("#admin-copy-key")
    expect(page.locator("#admin-copy-status")).to_have_text("Copied", timeout=TIMEOUT_MS)
    assert page.evaluate("navigator.clipboard.readText()") == key_field.input_value()

    for tab in ("source", "thresholds", "audit"):
        open_tab(page, tab)
        assert unlabelled_fields(page) == [] and overflow(page) <= 0, tab
    audit = page.locator("[data-testid=admin-audit-table]")
    expect(audit).to_contain_text(f"abe-{size}", timeout=TIMEOUT_MS)
    assert "role: analyst → admin" in audit.inner_text()
    assert errors == []


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
