"""The stream's history in distributed mode: the model worker writes it (received time = the moment Redis
admitted the event), every gunicorn web worker reads it, and a filtered socket on each web worker gets
only its selection, with KPIs exact for the selection over the window."""
import json
import time
import uuid
from datetime import datetime

import requests

from helpers import GUNICORN, LiveServer, Worker, recv_until, wait_for, ws_per_worker
from services.security.apikeys import ApiKeyStore
from services.simulation.retail import RetailSimulator
from services.storage.db import Database

WARM_UP = 1200          # the first model fit needs history; these go to other stores


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_worker_writes_history_every_web_worker_reads_it_and_filters_hold(tmp_path, redis_server, r):
    env = dict(REDIS_URL=redis_server.url, SIMULATOR="off", MARKET_FEED="off", WEB_CONCURRENCY=2)
    web = LiveServer(tmp_path / "data", command=GUNICORN, **env)
    worker = Worker(tmp_path / "data", **env)
    try:
        web.start()
        worker.start()
        key = ApiKeyStore(Database(web.data_dir / "pulseboard.db")).create("history-producer")[1]
        sim = RetailSimulator(seed=3, anomaly_rate=0.0, unique_ids=True)
        warm = [dict(sim.next_event(), event_id=uuid.uuid4().hex, store=1) for _ in range(WARM_UP)]
        for first in range(0, WARM_UP, 300):
            assert requests.post(web.url + "/api/v1/iot", json=warm[first:first + 300],
                                 headers={"X-API-Key": key}).status_code == 202
        sockets = ws_per_worker(web, 2, ["iot", "kpis"])
        for ws in sockets.values():
            ws.send(json.dumps({"type": "filter", "filter": {"store": [7]}}))
            recv_until(ws, lambda m: m["type"] == "filtered" and m["filter"]["store"] == [7])

        ours = [dict(sim.next_event(), event_id=f"s7-{i}", store=7, dept=3, weekly_sales=1000.0 + i) for i in range(50)]
        others = [dict(sim.next_event(), event_id=f"s8-{i}", store=8, dept=3) for i in range(50)]
        posted = time.time()
        assert requests.post(web.url + "/api/v1/iot", json=ours + others, headers={"X-API-Key": key}).status_code == 202

        session = web.session()

        def ours_in_history():
            answer = session.get(web.url + "/api/v1/history", params={"store": 7, "bucket": "raw"}).json()
            return answer if len(answer["series"]) == 50 else None
        answer = wait_for(ours_in_history, 60, "the 50 events of store 7 in the history")
        assert sorted(p["value"] for p in answer["series"]) == [1000.0 + i for i in range(50)]
        assert {p["dept"] for p in answer["series"]} == {3}
        received = [epoch(p["received"]) for p in answer["series"]]
        assert all(posted - 1 <= t <= time.time() for t in received), (posted, received[:3])   # Redis's admission time
        minute = session.get(web.url + "/api/v1/history", params={"store": 7, "bucket": "1m"}).json()["series"]
        assert sum(p["count"] for p in minute) == 50 and sum(p["sum"] for p in minute) == sum(1000.0 + i for i in range(50))

        for name, ws in sockets.items():          # each web worker filtered on the server
            kpi = recv_until(ws, lambda m: m["type"] == "batch" and any(
                x["type"] == "kpi_update" and x.get("selection", {}).get("store") == [7]
                and x["kpis"]["event_count"] == 50 for x in m["messages"]), timeout=20)
            assert kpi
            ws.settimeout(0.5)
        stores = set()
        more = [dict(sim.next_event(), event_id=f"mix-{i}", store=7 if i % 2 else 9, dept=2) for i in range(40)]
        assert requests.post(web.url + "/api/v1/iot", json=more, headers={"X-API-Key": key}).status_code == 202
        for ws in sockets.values():
            got = recv_until(ws, lambda m: m["type"] == "batch" and any(x["type"] == "iot_update" for x in m["messages"]),
                             timeout=20)
            stores |= {x["data"]["store"] for x in got["messages"] if x["type"] == "iot_update"}
        assert stores == {7}
        for ws in sockets.values():
            ws.close()
    finally:
        worker.stop()
        web.stop()
