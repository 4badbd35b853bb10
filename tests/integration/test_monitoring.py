"""GET /metrics against a real server (GET /healthz: test_http_in_process.py)."""
import pytest
import requests

from helpers import LiveServer
from services.storage.db import Database
from services.security.users import UserStore

TOKEN = "scrape-me-please-123"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("mon"), SIM_RATE=50, METRICS_TOKEN=TOKEN).start()
    yield server
    server.stop()


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


def test_frame_counters_keep_what_closed_sockets_sent(srv):
    """`pulse_ws_frames_sent_total` is a Prometheus counter: it must not go down when a socket closes."""
    import json
    import time

    from helpers import recv_json, recv_until

    def metric(prefix):
        text = requests.get(srv.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).text
        return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))

    def frames_sent():
        return metric("pulse_ws_frames_sent_total")
    before = frames_sent()
    ws = srv.ws(srv.session())
    recv_json(ws)
    ws.send(json.dumps({"type": "subscribe", "channels": ["iot"]}))
    for _ in range(5):
        recv_until(ws, lambda m: m["type"] == "batch")
    while_open = frames_sent()
    assert while_open >= before + 5
    ws.close()
    deadline = time.monotonic() + 10                  # until the server has dropped the socket
    while metric('pulse_ws_connections{channel="iot"}') > 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert metric('pulse_ws_connections{channel="iot"}') == 0
    assert frames_sent() >= while_open
