"""HTTP rules against a real server: public pages and assets, a logged-in session and logout, the live
snapshot, offline pages and the sign-in rate limit (the rules that need no running server: login, CSRF, the
gate in front of every route and the API's validation errors run in-process in test_http_in_process.py)."""
import re

import requests

from helpers import ADMIN_PASSWORD, LiveServer, login_token


def test_login_page_and_assets_are_public(server):
    assert requests.get(server.url + "/login").status_code == 200
    css = requests.get(server.url + "/assets/pulseboard.css")
    assert css.status_code == 200 and "kpi-value" in css.text
    assert requests.get(server.url + "/assets/vendor/bootstrap.min.css").status_code == 200


def test_logged_in_pages_and_dash_routes_work_and_logout_ends_the_session(server):
    s = server.session()
    assert s.get(server.url + "/", allow_redirects=False).status_code == 200
    assert s.get(server.url + "/_dash-layout").status_code == 200
    assert s.post(server.url + "/logout", data={"csrf_token": "forged"}, allow_redirects=False).status_code == 400
    assert s.get(server.url + "/_dash-layout").status_code == 200                  # a forged logout did nothing
    assert s.post(server.url + "/logout", data={"csrf_token": s.csrf}, allow_redirects=False).status_code == 302
    assert s.get(server.url + "/_dash-layout").status_code == 401
    assert s.get(server.url + "/", allow_redirects=False).status_code == 302


def test_live_data_snapshot_shape(server, admin):
    snap = admin.get(server.url + "/api/live-data").json()
    assert snap["type"] == "snapshot"
    assert {"kpis", "points", "alerts", "health", "model", "stats"} <= set(snap)
    assert {"avg_weekly_sales", "max_weekly_sales", "min_weekly_sales", "volatility", "holiday_avg_sales",
            "events_per_sec", "anomaly_count", "event_count"} <= set(snap["kpis"])
    assert snap["model"]["ready"] is True


def test_the_page_loads_nothing_from_other_hosts(server, admin):
    """Works offline: every script, stylesheet and icon is served by the app itself."""
    html = admin.get(server.url + "/").text
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(ref.startswith("/") and not ref.startswith("//") for ref in refs), refs


def post_login(server, query: str = "", **data):
    """POST the login form the way a browser does: with the form's CSRF token and its session cookie."""
    s = requests.Session()
    return s.post(server.url + "/login" + query, data={**data, "csrf_token": login_token(s, server.url)},
                  allow_redirects=False)


def test_repeated_failed_sign_ins_are_rate_limited(tmp_path):
    srv = LiveServer(tmp_path / "rl", SIMULATOR="off", LOGIN_RATE_LIMIT_USER="3 per minute",
                     LOGIN_RATE_LIMIT_IP="6 per minute").start()
    try:
        statuses = [post_login(srv, username="admin", password="wrong").status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        blocked = post_login(srv, username="admin", password=ADMIN_PASSWORD)    # even the right password, for now
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
        assert "Too many failed sign-ins" in blocked.text
        others = [post_login(srv, username=f"user{i}", password="x").status_code for i in range(4)]
        assert others[:2] == [401, 401] and others[-1] == 429                 # the address is limited too
    finally:
        srv.stop()
