"""GET/PUT /api/v1/me/preferences in-process: the signed-in user's own theme and notification choice,
stored per user, answered with 400 naming a bad field, 415 without JSON, 401 without a session; and the
page itself carries the theme before any script runs (no flash of the light theme)."""
import re

from helpers import ADMIN_PASSWORD


def sign_in(client, username="admin", password=ADMIN_PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": username, "password": password, "csrf_token": token}).status_code == 302


def test_preferences_are_read_changed_and_kept_per_user(app, logged_in_client):
    client = logged_in_client
    assert client.get("/api/v1/me/preferences").get_json() == {"theme": "system", "notify": "critical"}
    r = client.put("/api/v1/me/preferences", json={"theme": "dark"})
    assert r.status_code == 200 and r.get_json() == {"theme": "dark", "notify": "critical"}
    assert client.put("/api/v1/me/preferences", json={"notify": "muted"}).get_json() == {"theme": "dark", "notify": "muted"}
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en" data-bs-theme="dark" data-pulse-theme="dark" data-pulse-notify="muted">' in html
    head = html.split("</head>")[0]
    assert "/assets/boot/theme.js" in head, "the theme script must run in <head>, before the first paint"

    other = app.test_client()
    from services.web.runtime_access import get_runtime
    with app.app_context():
        get_runtime().users.create("olivia", "analyst-password", role="analyst")
    sign_in(other, "olivia", "analyst-password")
    assert other.get("/api/v1/me/preferences").get_json() == {"theme": "system", "notify": "critical"}


def test_bad_changes_are_refused_and_change_nothing(logged_in_client):
    client = logged_in_client
    r = client.put("/api/v1/me/preferences", json={"theme": "neon"})
    assert r.status_code == 400 and r.get_json()["code"] == "bad_preference" and "theme" in r.get_json()["error"]
    assert client.put("/api/v1/me/preferences", json={"volume": 11}).status_code == 400
    assert client.put("/api/v1/me/preferences", data="theme=dark").status_code == 415
    assert client.get("/api/v1/me/preferences").get_json() == {"theme": "system", "notify": "critical"}


def test_anonymous_gets_401_and_the_login_page_has_the_default_theme(client):
    assert client.get("/api/v1/me/preferences").status_code == 401
    assert client.put("/api/v1/me/preferences", json={"theme": "dark"}).status_code == 401
