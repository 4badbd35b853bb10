"""The seam between the stream's history and the live stream, as the Live page joins them.

A client subscribes to `iot`, buffers what arrives, asks the history API for the range ending now,
and, once the history writer has had time to write what was in flight at that moment, asks again
for the tail from a little before the first answer's end. It draws the union by `event_id`. Proven
here against a real server with a steady producer: every posted event is drawn once (no gap, no
duplicate), and an event seen both live and in the history has the same `received` time in both,
so the chart's x-axis is continuous across the seam.
"""
import json
import threading
import time
from datetime import datetime

import requests

from helpers import LiveServer, recv_json, wait_for
from services.security.apikeys import ApiKeyStore
from services.simulation.retail import RetailSimulator
from services.storage.db import Database

SETTLE_SECONDS = 2.0       # the history writer writes every 0.5 s: two seconds is well past it


class Producer(threading.Thread):
    """20 events every 0.1 s (200 events/s) through POST /api/v1/iot, ids numbered."""

    def __init__(self, url: str, key: str):
        super().__init__(daemon=True)
        self.url, self.key = url, key
        self.sent: list[str] = []
        self.stop_flag = threading.Event()
        self.sim = RetailSimulator(seed=9, anomaly_rate=0.0, unique_ids=True)

    def run(self):
        http = requests.Session()
        n = 0
        while not self.stop_flag.is_set():
            batch = [dict(self.sim.next_event(), event_id=f"seam-{n + i}") for i in range(20)]
            r = http.post(self.url + "/api/v1/iot", json=batch, headers={"X-API-Key": self.key}, timeout=10)
            assert r.status_code == 202, r.text
            self.sent += [e["event_id"] for e in batch]
            n += 20
            time.sleep(0.1)


class LiveReader(threading.Thread):
    def __init__(self, ws):
        super().__init__(daemon=True)
        self.ws, self.points, self.dropped = ws, {}, 0

    def run(self):
        self.ws.settimeout(None)
        try:
            while True:
                message = json.loads(self.ws.recv())
                if message["type"] == "batch":
                    self.dropped += message["dropped"]
                    for m in message["messages"]:
                        if m["type"] == "iot_update":
                            self.points[m["event_id"]] = m["received"]
        except Exception:           # noqa: BLE001 - the test closed the socket
            pass


def history(session, url: str, since: str) -> dict:
    r = session.get(url + "/api/v1/history", params={"from": since, "bucket": "raw"})
    assert r.status_code == 200, r.text
    return {p["event_id"]: p["received"] for p in r.json()["series"]}


def test_history_then_live_has_no_gap_and_no_duplicate(tmp_path):
    server = LiveServer(tmp_path / "data", SIMULATOR="off", MARKET_FEED="off").start()
    producer = None
    try:
        key = ApiKeyStore(Database(server.data_dir / "pulseboard.db")).create("seam")[1]
        session = server.session()
        since = datetime.now().astimezone().isoformat()
        producer = Producer(server.url, key)
        producer.start()
        ws = server.ws(session)
        recv_json(ws)
        # history accumulates before the page is opened: a second of the producer's events, written
        wait_for(lambda: len(producer.sent) >= 200 and history(session, server.url, since), 30, "a first history write")
        ws.send(json.dumps({"type": "subscribe", "channels": ["iot"]}))
        reader = LiveReader(ws)
        reader.start()
        first = history(session, server.url, since)            # the page's first request
        first_end = max(first.values())
        time.sleep(SETTLE_SECONDS)                                # the page waits before asking for the tail
        tail = history(session, server.url, first_end)
        time.sleep(1.0)
        producer.stop_flag.set()
        producer.join(10)
        ws.close()
        reader.join(5)

        drawn = {**first, **tail, **reader.points}              # the union by event_id: nothing twice
        assert reader.dropped == 0, "live frames coalesced points away: the test's rate is too high for it"
        assert tail and reader.points, (len(tail), len(reader.points))
        newest = max(int(i.split("-")[1]) for i in drawn)
        missing = [f"seam-{n}" for n in range(newest + 1) if f"seam-{n}" not in drawn]
        assert missing == [], f"{len(missing)} events missing at the seam, e.g. {missing[:5]}"     # no gap
        # the same event has the same received time live and in the history: one x-axis across the seam
        both = set(reader.points) & (set(first) | set(tail))
        assert both, "history and live did not overlap: the seam was not exercised"
        assert all(reader.points[i] == first.get(i, tail.get(i)) for i in both)
    finally:
        if producer is not None:
            producer.stop_flag.set()
        server.stop()
