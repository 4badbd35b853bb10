"""HTTP rules against a real server: login, the gate in front of every route, the JSON API."""
import re

import pytest
import requests

from helpers import ADMIN_PASSWORD, LiveServer, login_token


def test_pages_redirect_to_login_with_next(server):
    r = requests.get(server.url + "/", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login?next=/")
    r = requests.get(server.url + "/some/page?x=1", allow_redirects=False)
    assert r.status_code == 302 and "next=/some/page?x%3D1" in r.headers["Location"]


@pytest.mark.parametrize("method, path", [
    ("GET", "/_dash-layout"), ("GET", "/_dash-dependencies"), ("POST", "/_dash-update-component"),
    ("GET", "/_reload-hash"), ("GET", "/api/live-data"), ("GET", "/api/alerts"), ("GET", "/api/nope"),
    ("GET", "/ws"),
])
def test_dash_routes_api_and_ws_answer_401_json_when_anonymous(server, method, path):
    r = requests.request(method, server.url + path, headers={"Origin": server.origin}, json={})
    assert r.status_code == 401
    assert r.json()["error"] == "authentication required"


def test_login_page_and_assets_are_public(server):
    assert requests.get(server.url + "/login").status_code == 200
    css = requests.get(server.url + "/assets/pulseboard.css")
    assert css.status_code == 200 and "kpi-value" in css.text
    assert requests.get(server.url + "/assets/vendor/bootstrap.min.css").status_code == 200


def post_login(server, query: str = "", **data):
    """POST the login form the way a browser does: with the form's CSRF token and its session cookie."""
    s = requests.Session()
    return s.post(server.url + "/login" + query, data={**data, "csrf_token": login_token(s, server.url)},
                  allow_redirects=False)


def without_token(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_failed_login_does_not_reveal_whether_the_user_exists(server):
    wrong_password = post_login(server, username="admin", password="nope")
    unknown_user = post_login(server, username="ghost", password="nope")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "Invalid username or password." in wrong_password.text
    assert without_token(wrong_password.text) == without_token(unknown_user.text)


def test_login_sets_a_safe_session_cookie_and_redirects(server):
    r = post_login(server, username="admin", password=ADMIN_PASSWORD, next="/")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("target", ["//evil.com", "http://evil.com/x", "/\\evil.com", "https:evil.com", "javascript:x"])
def test_next_cannot_leave_the_app(server, target):
    r = post_login(server, "?next=" + requests.utils.quote(target, safe=""), username="admin", password=ADMIN_PASSWORD)
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_next_inside_the_app_is_followed(server):
    r = post_login(server, username="admin", password=ADMIN_PASSWORD, next="/api/alerts?limit=1")
    assert r.headers["Location"] == "/api/alerts?limit=1"


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


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=501", "after_id=-1", "after_id=x"])
def test_alerts_api_rejects_bad_parameters_with_400_json(server, admin, query):
    r = admin.get(server.url + "/api/alerts?" + query)
    assert r.status_code == 400 and "error" in r.json()


def test_unknown_api_path_is_404_json(server, admin):
    r = admin.get(server.url + "/api/nope")
    assert r.status_code == 404 and "error" in r.json()


def test_the_page_loads_nothing_from_other_hosts(server, admin):
    """Works offline: every script, stylesheet and icon is served by the app itself."""
    import re
    html = admin.get(server.url + "/").text
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(ref.startswith("/") and not ref.startswith("//") for ref in refs), refs


def test_the_login_form_needs_its_csrf_token(server):
    r = requests.post(server.url + "/login", data={"username": "admin", "password": ADMIN_PASSWORD},
                      allow_redirects=False)
    assert r.status_code == 400 and "expired" in r.text


def test_an_upload_needs_the_csrf_token(server):
    s = server.session()
    s.headers.pop("X-CSRFToken")
    r = s.post(server.url + "/api/v1/uploads?name=x.csv", data=b"Date,Value\n2020-01-01,1\n")
    assert r.status_code == 400 and r.json()["code"] == "csrf"
    token = s.get(server.url + "/api/csrf").json()["csrf_token"]                # what scripts do
    r = s.post(server.url + "/api/v1/uploads?name=x.csv", headers={"X-CSRFToken": token},
               data=b"Date,Value\n2020-01-01,1\n2020-01-02,2\n")
    assert r.status_code in (201, 422), r.text                                 # past CSRF: the file itself decides


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
