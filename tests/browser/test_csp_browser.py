"""Every page running under the CSP with zero violations, in a real headless Chromium (the headers
themselves: integration/test_security_headers.py)."""
import json
import re

import pytest

from helpers import LiveServer, logged_in_page, wait_for


def every_page(srv) -> list[str]:
    """Every page the navigation offers an admin (so a new page is covered without editing this test)."""
    layout = json.dumps(srv.session().get(srv.url + "/_dash-layout").json())
    return sorted(set(re.findall(r'"href": "(/[^"]*)"', layout)))


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("csp"), SIM_RATE=20, MARKET_PERIOD=0.5).start()
    yield server
    server.stop()


def test_every_page_runs_under_the_csp_with_no_violation(browser, srv):
    page, errors = logged_in_page(browser, srv, "/")
    violations = []
    page.expose_function("reportViolation", lambda text: violations.append(text))
    page.add_init_script("document.addEventListener('securitypolicyviolation', function (e) {"
                         " window.reportViolation(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile); });")
    pages = every_page(srv)
    assert {"/", "/admin", "/system", "/stream", "/analysis", "/calculators"} <= set(pages)
    for path in pages:
        page.goto(srv.url + path)
        wait_for(lambda: page.locator("#_pages_content").count() == 1, 15, f"{path} to render")
        page.wait_for_timeout(1500)                                   # live frames, charts, toasts
    assert violations == [], violations
    assert errors == [], errors
