"""GET /healthz and GET /metrics against a real server."""
import pytest
import requests

from conftest import LiveServer
from services.db import Database
from services.users import UserStore

TOKEN = "scrape-me-please-123"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("mon"), SIM_RATE=50, METRICS_TOKEN=TOKEN).start()
    yield server
    server.stop()


def test_healthz_needs_no_login_and_tells_no_secrets(srv):
    r = requests.get(srv.url + "/healthz", timeout=5)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["mode"] == "embedded" and body["checks"] == {"database": "ok"}
    assert not any(word in r.text.lower() for word in ("password", "secret", "token", "redis://"))


def test_metrics_need_an_admin_or_the_token(srv):
    assert requests.get(srv.url + "/metrics", timeout=5).status_code == 403
    assert requests.get(srv.url + "/metrics", headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 403
    UserStore(Database(srv.data_dir / "pulseboard.db")).create("watcher", "analyst-pass-1")
    assert srv.session("watcher", "analyst-pass-1").get(srv.url + "/metrics").status_code == 403
    by_token = requests.get(srv.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    by_admin = srv.session().get(srv.url + "/metrics")
    for r in (by_token, by_admin):
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    text = by_admin.text
    processed = next(float(line.split()[-1]) for line in text.splitlines() if line.startswith("pulse_events_processed_total"))
    assert processed > 0
    for name in ("pulse_ws_connections", "pulse_queue_depth", "pulse_hub_connected 1.0",
                 "process_resident_memory_bytes", "process_cpu_seconds_total"):
        assert name in text
