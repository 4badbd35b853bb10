"""Distributed mode as it is deployed: gunicorn web workers, `python -m services.runtime.worker` processes and a
real redis-server that the tests stop, restart and squeeze. Every client here is a real HTTP or
WebSocket client; every fault is a real one (a stopped Redis, SIGKILL, SIGSTOP).
"""
import json
import os
import signal
import threading
import time
import uuid

import redis
import requests

from helpers import GUNICORN, LiveServer, RedisServer, Worker, recv_json, recv_until, ws_per_worker
from services.security.apikeys import ApiKeyStore
from services.storage.db import Database
from services.redis_keys import RedisKeys
from services.simulation.retail import RetailSimulator
from services.ingest.stream_producer import StreamProducer

KEYS = RedisKeys()


def wait_for(predicate, timeout=30.0, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def alert_ids(ws, seconds: float) -> set[int]:
    ids, deadline = set(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            message = recv_json(ws, 0.2)
        except Exception:
            continue
        if message["type"] == "batch":
            ids |= {m["id"] for m in message["messages"] if m["type"] == "alert"}
    return ids


def test_two_web_workers_and_a_model_worker_serve_the_same_stream(tmp_path):
    redis_srv = RedisServer(tmp_path / "redis").start()
    env = dict(REDIS_URL=redis_srv.url, SIM_RATE=60, SIM_ANOMALY_RATE=0.15, WEB_CONCURRENCY=2, MARKET_PERIOD=0.5)
    web = LiveServer(tmp_path / "data", command=GUNICORN, **env)
    worker = Worker(tmp_path / "data", **env)
    try:
        web.start()
        worker.start()
        sockets = ws_per_worker(web, 2, ["alerts", "kpis", "system"])
        results = {}
        threads = [threading.Thread(target=lambda n=n, ws=ws: results.__setitem__(n, alert_ids(ws, 12)))
                   for n, ws in sockets.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        a, b = results.values()
        assert len(a) >= 3 and len(b) >= 3
        common = range(max(min(a), min(b)), min(max(a), max(b)) + 1)   # both were listening
        assert {i for i in a if i in common} == {i for i in b if i in common}
        assert len(common) >= 2
        snapshot = web.session().get(web.url + "/api/live-data").json()
        assert snapshot["stats"]["hub"]["kind"] == "redis" and snapshot["kpis"]["event_count"] > 0
        assert worker.name in snapshot["stats"]["workers"] and len(snapshot["stats"]["web"]) == 2
        assert snapshot["stats"]["connections"] >= 2
        assert snapshot["stats"]["redis"]["status"] == "ok" and snapshot["stats"]["events_out_per_s"] >= 0
        assert sorted(p["role"] for p in snapshot["stats"]["processes"].values()) == ["web", "web", "worker"]
        assert len(snapshot["market"]["history"]) >= 5          # one market producer (the leader), shared history
        ws = next(iter(sockets.values()))
        ws.send(json.dumps({"type": "calculate", "calculation_id": "mc", "calculation_type": "monte_carlo",
                            "parameters": {"cash_flows": [100] * 100, "initial_investment": 600, "scenarios": 1_000_000,
                                           "discount_rate": {"dist": "normal", "mean": 0.08, "std": 0.02}}}))
        arrivals, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline:                 # seconds of numpy in this web worker...
            m = recv_json(ws, 10)
            arrivals.append(time.monotonic())
            if m["type"] == "batch" and any(x["type"] == "calculation_update" and x["status"] == "completed"
                                            for x in m["messages"]):
                break
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
        span = arrivals[-1] - arrivals[0]
        # ...yet its frames kept flowing, at 5 a second or more, however long the calculation took: a real
        # thread did it (a count alone depends on the calculation's length on this machine)
        assert len(arrivals) >= 2 and max(gaps) < 1.0 and len(arrivals) >= 5 * span
        for ws in sockets.values():
            ws.close()
    finally:
        worker.stop()
        web.stop()
        redis_srv.stop()


class Producer(threading.Thread):
    """Posts batches of 20 events over REST like a careful client: a batch that gets anything but 202
    is retried with the same event ids until it is accepted."""

    def __init__(self, url: str, key: str):
        super().__init__(daemon=True)
        self.url, self.key = url, key
        self.sent_ids: set[str] = set()
        self.statuses: list[int] = []
        self.stop_flag = threading.Event()

    def run(self):
        sim = RetailSimulator(seed=3, unique_ids=True)
        while not self.stop_flag.is_set():
            batch = [dict(sim.next_event(), event_id=uuid.uuid4().hex) for _ in range(20)]
            while True:
                try:
                    status = requests.post(self.url + "/api/v1/iot", json=batch, timeout=10,
                                           headers={"X-API-Key": self.key}).status_code
                except requests.RequestException:
                    status = 0
                self.statuses.append(status)
                if status == 202:
                    self.sent_ids |= {e["event_id"] for e in batch}
                    break
                time.sleep(0.5)
            time.sleep(0.1)


def test_a_30_second_redis_outage_loses_nothing_acknowledged(tmp_path):
    redis_srv = RedisServer(tmp_path / "redis", persistent=True).start()
    data = tmp_path / "data"
    env = dict(REDIS_URL=redis_srv.url, SIMULATOR="off", WEB_CONCURRENCY=1, KPI_WINDOW_SECONDS=3600)
    web = LiveServer(data, command=GUNICORN, **env)
    worker = Worker(data, **env)
    try:
        web.start()
        worker.start()
        key = ApiKeyStore(Database(data / "pulseboard.db")).create("outage-test")[1]
        ws = web.ws(web.session())
        recv_json(ws)
        ws.send(json.dumps({"type": "subscribe", "channels": ["kpis"]}))
        producer = Producer(web.url, key)
        producer.start()
        assert wait_for(lambda: len(producer.sent_ids) >= 200)
        redis_srv.stop()
        outage_started = time.monotonic()
        assert recv_until(ws, lambda m: m["type"] == "status", timeout=15)["state"] == "degraded"
        assert web.session().get(web.url + "/", allow_redirects=False).status_code == 200   # pages still served
        assert wait_for(lambda: 503 in producer.statuses[-5:], timeout=10)           # never a false success
        time.sleep(max(0.0, 30 - (time.monotonic() - outage_started)))
        redis_srv.start()
        assert recv_until(ws, lambda m: m["type"] == "status", timeout=30)["state"] == "live"
        sent_before = len(producer.sent_ids)
        assert wait_for(lambda: len(producer.sent_ids) >= sent_before + 200, timeout=30)   # accepting again
        producer.stop_flag.set()
        producer.join(15)
        total = len(producer.sent_ids)
        client = redis.Redis.from_url(redis_srv.url)

        def all_processed():
            group = client.xinfo_groups(KEYS.stream)[0]
            kpis = json.loads(client.get(KEYS.tenant("default", "kpis")) or "{}")
            return group["lag"] == 0 and group["pending"] == 0 and kpis.get("event_count") == total

        assert wait_for(all_processed, timeout=40), (total, client.get(KEYS.tenant("default", "kpis")))
        assert client.xlen(KEYS.dead_letter) == 0
        ws.close()
    finally:
        worker.stop()
        web.stop()
        redis_srv.stop()


def test_a_killed_worker_loses_nothing_and_alerts_once(tmp_path):
    redis_srv = RedisServer(tmp_path / "redis").start()
    data = tmp_path / "data"
    env = dict(REDIS_URL=redis_srv.url, SIMULATOR="off", CLAIM_IDLE_SECONDS=2, KPI_WINDOW_SECONDS=3600,
               SECRET_KEY="shared-test-secret")
    first, second = Worker(data, **env).start(), Worker(data, **env).start()
    client = redis.Redis.from_url(redis_srv.url)
    producer = StreamProducer(client, KEYS)
    sim = RetailSimulator(seed=5, anomaly_rate=0.0, unique_ids=True)
    spikes, total = set(), 0
    def post(spike: bool):
        nonlocal total
        batch = [sim.next_event() for _ in range(100)]
        if spike:                                      # entities are warm: spike one event in each post
            batch[50]["weekly_sales"] *= 15
            spikes.add(batch[50]["event_id"])
        producer.add(batch)
        total += len(batch)

    def held_by(worker):
        return {c["name"].decode(): c["pending"]
                for c in client.xpending(KEYS.stream, KEYS.group)["consumers"]}.get(worker.name, 0)

    try:
        for i in range(80):                            # 1,000 events a second in posts of 100
            post(spike=i >= 20)
            time.sleep(0.1)
        for _ in range(100):                           # catch the first worker holding unacknowledged events
            post(spike=True)
            if held_by(first):
                first.kill()                           # SIGKILL between read and ack
                break
            time.sleep(0.05)
        held = held_by(first)
        assert held > 0
        for i in range(30):
            post(spike=True)
            time.sleep(0.1)
        kpi_key = KEYS.tenant("default", "kpis")

        def done():
            group = client.xinfo_groups(KEYS.stream)[0]
            kpis = json.loads(client.get(kpi_key) or "{}")
            return group["lag"] == 0 and group["pending"] == 0 and kpis.get("event_count") == total

        assert wait_for(done, timeout=60), client.get(kpi_key)
        stats = json.loads(client.hget(KEYS.stats("workers"), second.name))
        assert stats["reclaimed"] >= held                                # what the dead one held was taken over
        db = Database(data / "pulseboard.db")
        rows = db.query("SELECT event_id, COUNT(*) AS n FROM alerts GROUP BY event_id")
        assert all(r["n"] == 1 for r in rows)
        assert spikes <= {r["event_id"] for r in rows}                   # every anomaly alerted, once
    finally:
        first.stop()
        second.stop()
        redis_srv.stop()


def test_a_slow_web_worker_dropped_by_redis_resubscribes_and_resyncs(tmp_path):
    redis_srv = RedisServer(tmp_path / "redis").start()
    client = redis.Redis.from_url(redis_srv.url)
    client.config_set("client-output-buffer-limit", "pubsub 256kb 64kb 1")
    env = dict(REDIS_URL=redis_srv.url, SIM_RATE=3000, WEB_CONCURRENCY=1)
    web = LiveServer(tmp_path / "data", command=GUNICORN, **env)
    worker = Worker(tmp_path / "data", **env)
    try:
        web.start()
        worker.start()
        (name, ws), = ws_per_worker(web, 1, ["iot", "kpis"]).items()
        recv_until(ws, lambda m: m["type"] == "batch")
        pid = int(name.rsplit("-", 1)[1])
        relays = lambda: sum(1 for c in client.client_list() if c.get("psub") == "1")   # noqa: E731
        assert relays() == 1
        os.kill(pid, signal.SIGSTOP)                   # the web worker stops reading its Redis subscription
        try:
            assert wait_for(lambda: relays() == 0, timeout=20)   # Redis dropped it: output buffer limit
        finally:
            os.kill(pid, signal.SIGCONT)
        # the relay may first say the hub is lost (`degraded`: it noticed before it re-subscribed); live
        # then always comes with `resync` (a new subscription: messages may have been lost)
        status = recv_until(ws, lambda m: m["type"] == "status" and m["state"] == "live", timeout=20)
        assert status["resync"] is True
        snapshot = recv_until(ws, lambda m: m["type"] == "snapshot", timeout=10)
        assert snapshot["kpis"]["event_count"] > 0
        assert wait_for(lambda: relays() == 1, timeout=10)
        recv_until(ws, lambda m: m["type"] == "batch" and m["messages"], timeout=10)   # streaming again
        ws.close()
    finally:
        worker.stop()
        web.stop()
        redis_srv.stop()


def test_gunicorn_without_redis_runs_one_embedded_worker(tmp_path):
    web = LiveServer(tmp_path / "data", command=GUNICORN, SIM_RATE=30, WEB_CONCURRENCY=4)
    try:
        web.start()
        sockets = ws_per_worker(web, 1, ["kpis"])
        (name, ws), = sockets.items()
        frame = recv_until(ws, lambda m: m["type"] == "batch" and m["messages"])
        assert frame["messages"][0]["type"] == "kpi_update"
        names = set()
        for _ in range(8):                       # WEB_CONCURRENCY is ignored without Redis: one worker only
            other = web.ws(web.session())
            names.add(recv_json(other)["worker"])
            other.close()
        assert names == {name}
        ws.close()
    finally:
        web.stop()


def test_a_worker_without_redis_url_says_what_it_needs(tmp_path):
    import subprocess
    import sys

    from helpers import ROOT
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    out = subprocess.run([sys.executable, "-m", "services.runtime.worker"], cwd=ROOT, env={**env, "DATA_DIR": str(tmp_path)},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "needs REDIS_URL" in out.stdout
