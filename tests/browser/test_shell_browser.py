"""The app shell in Chromium (issue 15): the theme (per user, before the first paint, following the
system), the navbar on a phone, the bell and calm alert digests by preference, toasts that never cover the
field being typed in, and the brand dot and KPI cards when the live data stops."""
import pytest

from helpers import LiveServer, logged_in_page, wait_for

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("shell"), SIM_RATE=0).start()    # no alerts but the ones pushed
    yield server
    server.stop()


def signed_in(browser, srv, path="/", **options):
    page, errors = logged_in_page(browser, srv, "/login?next=" + path, **options)
    page.wait_for_url(lambda url: "/login" not in url)
    page.wait_for_selector("#navbar")
    return page, errors


def theme(page) -> str:
    return page.evaluate("document.documentElement.getAttribute('data-bs-theme')")


def choose(page, menu: str, label: str) -> None:
    page.click(f"#{menu} > a, #{menu} > button")
    page.get_by_role("menuitem", name=label, exact=True).click() if page.get_by_role(
        "menuitem", name=label, exact=True).count() else page.click(f"#{menu} .dropdown-menu >> text={label}")


def test_theme_is_kept_per_user_and_applied_before_the_first_paint(browser, srv):
    page, errors = signed_in(browser, srv, color_scheme="light")
    assert theme(page) == "light"
    choose(page, "nav-theme-menu", "Dark")
    wait_for(lambda: theme(page) == "dark", 5, "the dark theme at once", page)
    wait_for(lambda: page.evaluate("fetch('/api/v1/me/preferences').then(r => r.json())")["theme"] == "dark", 10,
             "the choice saved for the user", page)
    # A reload in another browser context (another device) is dark from the server's first byte.
    other = browser.new_context(color_scheme="light")
    again, _ = logged_in_page(browser, srv, "/login?next=/system", context=other)
    again.wait_for_url(lambda url: "/login" not in url)
    served = again.evaluate("document.documentElement.outerHTML.slice(0, 300)")
    assert theme(again) == "dark", served
    # "Follow the system": the operating system's dark preference, resolved by the head script.
    choose(again, "nav-theme-menu", "Follow the system")
    wait_for(lambda: theme(again) == "light", 5, "the system's light scheme", again)
    again.emulate_media(color_scheme="dark")
    wait_for(lambda: theme(again) == "dark", 5, "following the system to dark", again)
    again.reload()
    assert again.evaluate("document.documentElement.getAttribute('data-pulse-theme')") == "system"
    assert theme(again) == "dark"
    other.close()
    assert errors == [], errors


def test_the_navbar_collapses_on_a_phone(browser, srv):
    page, errors = signed_in(browser, srv, "/system", viewport=PHONE)
    height = page.evaluate("document.getElementById('navbar').getBoundingClientRect().height")
    assert height < 80, f"the navbar takes {height}px of an 844px screen"
    assert not page.get_by_role("link", name="Market").is_visible()
    assert page.locator("[data-testid=bell]").is_visible()
    page.click("#nav-toggler")
    wait_for(lambda: page.get_by_role("link", name="Market").is_visible(), 5, "the menu open", page)
    assert page.get_attribute("#nav-toggler", "aria-expanded") == "true"
    page.get_by_role("link", name="Market").click()
    page.wait_for_url(lambda url: url.endswith("/market"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert errors == [], errors


def push(page, count=1, critical=0, message="Sales spike at store 3, dept 6"):
    page.evaluate("""([count, critical, message]) => window.pulseToasts.push([{type: 'notification', kind: 'alerts',
        level: critical ? 'error' : 'warning', title: count + ' new alerts', message: message, count: count,
        critical: critical, timestamp: new Date().toISOString()}], 'pulse-toasts')""", [count, critical, message])


def toast_texts(page):
    return page.locator("[data-testid=toast]").all_inner_texts()


def test_alert_digests_follow_the_preference_and_the_bell_counts_them_all(browser, srv):
    page, errors = signed_in(browser, srv, "/market")
    assert page.evaluate("document.documentElement.getAttribute('data-pulse-notify')") == "critical"
    push(page, 3, 0)                     # HIGH only: no pop-up at the default (CRITICAL only) ...
    wait_for(lambda: page.inner_text("[data-testid=bell-count]") == "3", 5, "the bell counting 3", page)
    push(page, 2, 1, "Sales drop at store 9")
    push(page, 4, 2, "Sales drop at store 4")    # ... CRITICAL ones grouped into one digest
    wait_for(lambda: len(toast_texts(page)) == 1, 5, "one digest toast", page)
    assert "6 new alerts, 3 CRITICAL" in toast_texts(page)[0] and "View alerts" in toast_texts(page)[0]
    assert page.inner_text("[data-testid=bell-count]") == "9"
    page.click("[data-testid=bell]")
    panel = page.locator("[data-testid=bell-panel]")
    wait_for(lambda: panel.is_visible() and "Sales drop at store 4" in panel.inner_text(), 5, "the bell's list", page)
    wait_for(lambda: not page.locator("[data-testid=bell-count]").is_visible(), 5, "everything read", page)
    page.keyboard.press("Escape")
    wait_for(lambda: not panel.is_visible(), 5, "the panel closed", page)
    choose(page, "nav-user-menu", "No alert pop-ups")
    wait_for(lambda: page.evaluate("document.documentElement.getAttribute('data-pulse-notify')") == "muted", 5,
             "muted", page)
    wait_for(lambda: not toast_texts(page), 10, "the digest gone", page)
    push(page, 5, 5)
    wait_for(lambda: page.inner_text("[data-testid=bell-count]") == "5", 5, "counted while muted", page)
    assert not toast_texts(page)
    assert errors == [], errors


def test_toasts_never_cover_the_focused_field(browser, srv):
    page, errors = signed_in(browser, srv, "/calculators", viewport=PHONE)
    field = page.locator("input:visible").last
    field.scroll_into_view_if_needed()
    box = field.bounding_box()
    # Put the field where the toasts sit (bottom right), then focus it and let a toast arrive.
    page.evaluate("""(y) => window.scrollBy(0, y)""", box["y"] - (844 - 140))
    field.focus()
    page.evaluate("document.documentElement.setAttribute('data-pulse-notify', 'all')")
    push(page, 2, 2)
    wait_for(lambda: len(toast_texts(page)) == 1, 35, "the toast", page)

    def covered():
        return page.evaluate("""() => { const a = document.getElementById('pulse-toasts'), f = document.activeElement;
            if (getComputedStyle(a).visibility === 'hidden') return false;
            const r = a.getBoundingClientRect(), s = f.getBoundingClientRect();
            return r.left < s.right && s.left < r.right && r.top < s.bottom && s.top < r.bottom; }""")
    assert page.evaluate("document.activeElement.tagName") == "INPUT"
    assert not covered()
    assert errors == [], errors


def test_brand_dot_and_kpi_cards_follow_the_live_data(browser, tmp_path):
    server = LiveServer(tmp_path / "stale", SIM_RATE=20).start()
    try:
        page, errors = signed_in(browser, server, "/")
        root = "document.documentElement.getAttribute"
        wait_for(lambda: page.evaluate(f"{root}('data-socket')") == "live", 20, "the dot live", page)
        dot = lambda: page.evaluate("getComputedStyle(document.querySelector('.brand-dot')).backgroundColor")  # noqa: E731
        assert dot() == "rgb(46, 204, 113)"
        assert page.inner_text("[data-testid=stale-note]") == ""
        server.stop()
        wait_for(lambda: page.evaluate(f"{root}('data-socket')") in ("reconnecting", "offline"), 20, "the dot off", page)
        assert dot() != "rgb(46, 204, 113)"
        wait_for(lambda: page.inner_text("[data-testid=stale-note]").startswith("Data as of "), 30, "stale", page)
        opacity = page.evaluate("getComputedStyle(document.querySelector('.kpi-card')).opacity")
        assert float(opacity) < 1
        server.start()
        wait_for(lambda: page.evaluate(f"{root}('data-socket')") == "live", 60, "live again", page)
        wait_for(lambda: page.inner_text("[data-testid=stale-note]") == "", 20, "fresh again", page)
        errors[:] = [e for e in errors if "Failed to load resource" not in e and "ERR_CONNECTION_REFUSED" not in e]
        assert errors == [], errors
    finally:
        server.stop()
