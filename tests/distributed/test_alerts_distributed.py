"""The alert workflow in distributed mode: an acknowledge served by one gunicorn web worker reaches the
sockets held by every web worker (alert_update through the Redis hub)."""
from helpers import GUNICORN, LiveServer, Worker, act, recv_until, wait_for_alerts, ws_per_worker


def test_alert_update_reaches_every_web_worker(tmp_path, redis_server):
    env = dict(REDIS_URL=redis_server.url, SIM_RATE=60, SIM_ANOMALY_RATE=0.2, WEB_CONCURRENCY=2)
    web = LiveServer(tmp_path / "data", command=GUNICORN, **env)
    worker = Worker(tmp_path / "data", **env)
    try:
        web.start()
        worker.start()
        sockets = ws_per_worker(web, 2, ["alerts"])
        session = web.session()
        alert = wait_for_alerts(session, web, 1, status="open")[0]
        for action, status in (("acknowledge", "acknowledged"), ("resolve", "resolved")):
            r = act(session, web, alert["id"], action)
            assert r.status_code == 200 and r.json()["status"] == status
            for ws in sockets.values():              # one of them is on the other web worker
                recv_until(ws, lambda m: m["type"] == "batch" and any(
                    x["type"] == "alert_update" and x["alert"]["id"] == alert["id"] and x["alert"]["status"] == status
                    for x in m["messages"]), timeout=20)
        for ws in sockets.values():
            ws.close()
    finally:
        worker.stop()
        web.stop()
