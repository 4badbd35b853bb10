"""The database unreachable while serving, against the app in-process (Flask's test client): the
stores raise what SQLAlchemy raises when PostgreSQL is stopped, and every route answers 503 with
Retry-After (JSON for the API and Dash, a plain page otherwise), never a 500 and never a logout.
The real outage (a stopped PostgreSQL under load, gunicorn and a worker) is
tests/distributed/test_pg_outage.py."""
import json

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from services.web.runtime_access import get_runtime


def refuse(*_args, **_kwargs):
    raise OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused"))


def unavailable_json(r):
    assert r.status_code == 503, r.get_data(as_text=True)
    assert r.get_json() == {"error": "The database is unavailable; try again shortly.", "code": "database_unavailable"}
    assert r.headers["Retry-After"] == "5"


def test_a_signed_in_session_gets_503_not_a_logout_and_works_again_after(app, logged_in_client, monkeypatch):
    runtime = get_runtime(app)
    with monkeypatch.context() as m:
        m.setattr(runtime.sessions, "for_token", refuse)          # the session lookup every request makes
        unavailable_json(logged_in_client.get("/api/alerts"))
        unavailable_json(logged_in_client.get("/_dash-layout"))
        unavailable_json(logged_in_client.post("/api/alerts/1/acknowledge", json={}))
        page = logged_in_client.get("/")
        assert page.status_code == 503 and page.headers["Retry-After"] == "5"
        assert "briefly unavailable" in page.get_data(as_text=True) and "Set-Cookie" not in page.headers
        assert logged_in_client.get("/login").status_code == 200               # no session lookup there
        assert logged_in_client.get("/assets/pulseboard.css").status_code == 200
        health = logged_in_client.get("/healthz")
        assert health.status_code == 200                                     # the database itself answers
    assert logged_in_client.get("/api/alerts").status_code == 200            # same cookie, still signed in


def test_the_api_and_the_login_form_answer_503_while_their_store_cannot(app, logged_in_client, client, monkeypatch):
    runtime = get_runtime(app)
    monkeypatch.setattr(runtime.alerts, "recent", refuse)
    unavailable_json(logged_in_client.get("/api/alerts"))
    monkeypatch.setattr(runtime.users, "authenticate", refuse)
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": "admin", "password": "x", "csrf_token": token})
    assert r.status_code == 503 and "The database is unavailable" in r.get_data(as_text=True)


def test_healthz_says_failing_with_the_database_unavailable(app, client, monkeypatch):
    monkeypatch.setattr(get_runtime(app).db, "check", refuse)
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["status"] == "failing" and r.get_json()["checks"]["database"] == "unavailable"


def test_ingest_goes_on_for_a_key_verified_shortly_before(app, client, monkeypatch):
    runtime = get_runtime(app)
    _, key = runtime.api_keys.create("producer")
    _, unseen = runtime.api_keys.create("unseen")
    event = {"event_id": "e-1", "timestamp": "2026-01-01T00:00:00Z", "store": 1, "dept": 1, "weekly_sales": 10.0,
             "temperature": 50.0, "is_holiday": 0}
    headers = {"Content-Type": "application/json"}
    assert client.post("/api/v1/iot", data=json.dumps(event), headers={**headers, "X-API-Key": key}).status_code == 202
    monkeypatch.setattr(runtime.db, "query", refuse)
    r = client.post("/api/v1/iot", data=json.dumps(dict(event, event_id="e-2")), headers={**headers, "X-API-Key": key})
    assert r.status_code == 202
    unavailable_json(client.post("/api/v1/iot", data=json.dumps(event), headers={**headers, "X-API-Key": unseen}))


def test_an_error_that_is_not_an_outage_is_still_a_500(app, logged_in_client, monkeypatch):
    app.config.update(PROPAGATE_EXCEPTIONS=False)

    def bug(*_args, **_kwargs):
        raise IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key"))
    monkeypatch.setattr(get_runtime(app).alerts, "recent", bug)
    assert logged_in_client.get("/api/alerts").status_code == 500


@pytest.mark.parametrize("path", ["/login", "/assets/pulseboard.css", "/api/csrf"])
def test_what_needs_no_database_is_served_while_it_is_away(app, client, monkeypatch, path):
    monkeypatch.setattr(get_runtime(app).db, "query", refuse)
    monkeypatch.setattr(get_runtime(app).sessions, "for_token", refuse)
    assert client.get(path).status_code == 200
