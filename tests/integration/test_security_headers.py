"""Security headers on every response (every page running under the CSP with zero violations, in Chromium:
browser/test_csp_browser.py)."""
import pytest
import requests

from helpers import LiveServer


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
