"""HTTP rules that need no running pipeline or WebSocket, against the app in-process (Flask's test client,
`app`/`client`/`logged_in_client` in tests/conftest.py): login, CSRF, the gate in front of every route,
/healthz and the JSON API's validation errors. Rules that need the live pipeline, real sockets or a real
network stack stay in test_live_http.py, test_live_ws.py and test_monitoring.py (a real server)."""
import re
from urllib.parse import quote

import pytest

from helpers import ADMIN_PASSWORD

ORIGIN = "http://localhost"       # the test client's own origin


def post_login(client, query: str = "", **data):
    """POST the login form the way a browser does: with the form's CSRF token and its session cookie."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login" + query, data={**data, "csrf_token": token})


def without_token(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_pages_redirect_to_login_with_next(client):
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login?next=/")
    r = client.get("/some/page?x=1")
    assert r.status_code == 302 and "next=/some/page?x%3D1" in r.headers["Location"]


@pytest.mark.parametrize("method, path", [
    ("GET", "/_dash-layout"), ("GET", "/_dash-dependencies"), ("POST", "/_dash-update-component"),
    ("GET", "/_reload-hash"), ("GET", "/api/live-data"), ("GET", "/api/alerts"), ("GET", "/api/nope"),
    ("GET", "/ws"),
])
def test_dash_routes_api_and_ws_answer_401_json_when_anonymous(client, method, path):
    r = client.open(path, method=method, headers={"Origin": ORIGIN}, json={})
    assert r.status_code == 401
    assert r.get_json()["error"] == "authentication required"


def test_failed_login_does_not_reveal_whether_the_user_exists(client):
    wrong_password = post_login(client, username="admin", password="nope")
    unknown_user = post_login(client, username="ghost", password="nope")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "Invalid username or password." in wrong_password.get_data(as_text=True)
    assert without_token(wrong_password.get_data(as_text=True)) == without_token(unknown_user.get_data(as_text=True))


def test_login_sets_a_safe_session_cookie_and_redirects(client):
    r = post_login(client, username="admin", password=ADMIN_PASSWORD, next="/")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("target", ["//evil.com", "http://evil.com/x", "/\\evil.com", "https:evil.com", "javascript:x"])
def test_next_cannot_leave_the_app(client, target):
    r = post_login(client, "?next=" + quote(target, safe=""), username="admin", password=ADMIN_PASSWORD)
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_next_inside_the_app_is_followed(client):
    r = post_login(client, username="admin", password=ADMIN_PASSWORD, next="/api/alerts?limit=1")
    assert r.headers["Location"] == "/api/alerts?limit=1"


def test_the_login_form_needs_its_csrf_token(client):
    r = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 400 and "expired" in r.get_data(as_text=True)


def test_an_upload_needs_the_csrf_token(logged_in_client):
    client = logged_in_client
    r = client.post("/api/v1/uploads?name=x.csv", data=b"Date,Value\n2020-01-01,1\n",
                    headers={"X-CSRFToken": ""})                                   # none sent
    assert r.status_code == 400 and r.get_json()["code"] == "csrf"
    token = client.get("/api/csrf").get_json()["csrf_token"]                     # what scripts do
    r = client.post("/api/v1/uploads?name=x.csv", headers={"X-CSRFToken": token},
                    data=b"Date,Value\n2020-01-01,1\n2020-01-02,2\n")
    assert r.status_code in (201, 422), r.get_data(as_text=True)                 # past CSRF: the file decides


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=501", "after_id=-1", "after_id=x"])
def test_alerts_api_rejects_bad_parameters_with_400_json(logged_in_client, query):
    r = logged_in_client.get("/api/alerts?" + query)
    assert r.status_code == 400 and "error" in r.get_json()


def test_alerts_api_selects_entities_like_a_filtered_dashboard(app, logged_in_client):
    from services.web.runtime_access import EXTENSION_KEY
    alerts = [{"event_id": f"e{store}", "priority": "HIGH", "timestamp": "2026-11-24T13:00:00.000Z", "store": store,
               "dept": 3, "risk_score": 70, "message": f"store {store}", "why": "test"} for store in (1, 2, 5)]
    app.extensions[EXTENSION_KEY].alerts.save("default", alerts)
    shown = lambda query: [a["store"] for a in logged_in_client.get("/api/alerts?" + query).get_json()["alerts"]]  # noqa: E731
    assert shown("store=1,5&status=open") == [5, 1] and shown("store=2&dept=3") == [2] and shown("dept=4") == []
    assert logged_in_client.get("/api/alerts?store=x").status_code == 400


def test_unknown_api_path_is_404_json(logged_in_client):
    r = logged_in_client.get("/api/nope")
    assert r.status_code == 404 and "error" in r.get_json()


def test_healthz_needs_no_login_and_tells_no_secrets(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok" and body["mode"] == "embedded" and body["checks"] == {"database": "ok"}
    assert not any(word in r.get_data(as_text=True).lower() for word in ("password", "secret", "token", "redis://"))
