"""Security headers on every response, and every page running under the CSP with zero violations."""
import json
import re

import pytest
import requests

from conftest import LiveServer
from test_live_browser import browser, logged_in_page, wait_for  # noqa: F401  (fixture and helpers)


def every_page(srv) -> list[str]:
    """Every page the navigation offers an admin (so a new page is covered without editing this test)."""
    layout = json.dumps(srv.session().get(srv.url + "/_dash-layout").json())
    return sorted(set(re.findall(r'"href": "(/[^"]*)"', layout)))


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("sec"), SIM_RATE=20, MARKET_PERIOD=0.5).start()
    yield server
    server.stop()


def test_every_kind_of_response_carries_the_headers(srv):
    session = srv.session()
    responses = [requests.get(srv.url + "/login", timeout=5), requests.get(srv.url + "/healthz", timeout=5),
                 requests.get(srv.url + "/assets/pulseboard.css", timeout=5), session.get(srv.url + "/"),
                 session.get(srv.url + "/api/live-data"), requests.get(srv.url + "/api/live-data", timeout=5)]
    for r in responses:
        h = r.headers
        assert h["X-Content-Type-Options"] == "nosniff", r.url
        assert h["X-Frame-Options"] == "DENY", r.url
        assert h["Referrer-Policy"] == "strict-origin-when-cross-origin", r.url
        csp = h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp
        assert "'unsafe-eval'" not in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "Strict-Transport-Security" not in h                # plain HTTP: no HSTS
    over_tls = requests.get(srv.url + "/login", headers={"X-Forwarded-Proto": "https"}, timeout=5)
    assert over_tls.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.browser
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
