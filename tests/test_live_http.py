"""HTTP rules against a real server: login, the gate in front of every route, the JSON API."""
import pytest
import requests

from conftest import ADMIN_PASSWORD


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


def test_failed_login_does_not_reveal_whether_the_user_exists(server):
    wrong_password = requests.post(server.url + "/login", data={"username": "admin", "password": "nope"})
    unknown_user = requests.post(server.url + "/login", data={"username": "ghost", "password": "nope"})
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "Invalid username or password." in wrong_password.text
    assert wrong_password.text == unknown_user.text


def test_login_sets_a_safe_session_cookie_and_redirects(server):
    r = requests.post(server.url + "/login", data={"username": "admin", "password": ADMIN_PASSWORD, "next": "/"},
                      allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("target", ["//evil.com", "http://evil.com/x", "/\\evil.com", "https:evil.com", "javascript:x"])
def test_next_cannot_leave_the_app(server, target):
    r = requests.post(server.url + "/login?next=" + requests.utils.quote(target, safe=""),
                      data={"username": "admin", "password": ADMIN_PASSWORD}, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_next_inside_the_app_is_followed(server):
    r = requests.post(server.url + "/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                                   "next": "/api/alerts?limit=1"}, allow_redirects=False)
    assert r.headers["Location"] == "/api/alerts?limit=1"


def test_logged_in_pages_and_dash_routes_work_and_logout_ends_the_session(server):
    s = server.session()
    assert s.get(server.url + "/", allow_redirects=False).status_code == 200
    assert s.get(server.url + "/_dash-layout").status_code == 200
    assert s.post(server.url + "/logout", allow_redirects=False).status_code == 302
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
