"""The ingest pipeline end to end in-process: real hub, real SQLite, real models, real threads."""
import json
import time

import pytest

from services.storage.alerts import AlertStore
from services.storage.db import Database
from services.ingest.events import validate_event
from services.realtime.hub import InMemoryHub, Subscription, topic
from services.ingest.queue import IngestQueue, QueueFull
from services.scoring.models import ModelBank
from services.pipeline.embedded import Pipeline
from services.simulation.retail import RetailSimulator


@pytest.fixture
def rig(tmp_path):
    sim = RetailSimulator(seed=9, anomaly_rate=0.05)
    models = ModelBank(seed=0)
    models.warm_up([validate_event(e) for e in sim.history(1000)])
    hub = InMemoryHub()
    received = {}
    sub = Subscription(lambda t, msgs: received.setdefault(t, []).extend(json.loads(m.json) for m in msgs))
    hub.subscribe(sub, [topic("default", c) for c in ("iot", "alerts", "kpis", "health", "system")])
    alerts = AlertStore(Database(tmp_path / "db.sqlite"))
    queue = IngestQueue(capacity=10_000)
    pipeline = Pipeline(queue, models, hub, alerts, max_points_per_batch=50)
    return sim, pipeline, received, alerts, queue


def test_a_batch_is_scored_published_and_alerted(rig):
    sim, pipeline, received, alerts, _ = rig
    pipeline.process([sim.next_event() for _ in range(400)])
    pipeline.publish_periodic(force=True)
    points = received["default:iot"]
    assert len(points) == 50                                   # only the newest can reach a client
    assert {"anomaly_detected", "anomaly_score", "risk_level", "risk_score", "cluster"} <= set(points[0]["analysis"])
    stored = alerts.recent("default", 500)
    published = received.get("default:alerts", [])
    assert stored and [a["id"] for a in published] == sorted(a["id"] for a in stored)
    assert all(a["priority"] in ("HIGH", "CRITICAL") and a["why"] and a["message"] for a in published)
    kpis = received["default:kpis"][-1]["kpis"]
    assert kpis["event_count"] == 400
    assert received["default:health"] and received["default:system"][-1]["stats"]["processed"] == 400


def test_invalid_events_are_counted_by_reason_and_do_not_stop_the_batch(rig):
    sim, pipeline, received, _, _ = rig
    good = [sim.next_event() for _ in range(10)]
    bad = [{"event_id": "x"}, "garbage", dict(good[0], weekly_sales=float("nan")), None]
    pipeline.process(good + bad)
    assert pipeline.stats.processed == 10
    assert sum(pipeline.stats.rejected.values()) == 4
    assert any(r.startswith("weekly_sales") for r in pipeline.stats.rejected)


def test_alerts_are_idempotent_by_event_id(rig):
    sim, pipeline, _, alerts, _ = rig
    events = [sim.next_event() for _ in range(500)]
    pipeline.process(events)
    first = len(alerts.recent("default", 500))
    pipeline.process(events)                                  # the same events delivered again
    assert len(alerts.recent("default", 500)) == first > 0


def test_the_ingest_thread_survives_a_failing_batch(rig, monkeypatch):
    sim, pipeline, received, _, queue = rig
    original = pipeline.models.score
    calls = {"n": 0}

    def flaky(events):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("model exploded")
        return original(events)

    monkeypatch.setattr(pipeline.models, "score", flaky)
    pipeline.start()
    try:
        queue.put([sim.next_event() for _ in range(20)])
        deadline = time.time() + 5
        while pipeline.stats.batch_errors == 0 and time.time() < deadline:
            time.sleep(0.02)
        queue.put([sim.next_event() for _ in range(20)])
        while pipeline.stats.processed < 20 and time.time() < deadline:
            time.sleep(0.02)
        assert pipeline.stats.batch_errors == 1 and pipeline.stats.processed == 20
    finally:
        pipeline.stop()


def test_micro_batches_close_on_size_or_time():
    queue = IngestQueue()
    queue.put(list(range(2500)))
    assert len(queue.next_batch(1000, 0.05)) == 1000
    queue.put([1, 2, 3])
    started = time.monotonic()
    assert len(queue.next_batch(1000, 0.05)) == 1000           # 1,503 waiting: full batch at once
    assert time.monotonic() - started < 0.04
    assert len(queue.next_batch(1000, 0.05)) == 503            # the rest, once no more came
    assert queue.next_batch(1000, 0.05, idle_timeout=0.01) == []


def test_a_micro_batch_closes_once_its_burst_is_over_not_max_wait_later():
    queue = IngestQueue()
    queue.put([1, 2, 3])
    started = time.monotonic()
    assert queue.next_batch(1000, 30.0) == [1, 2, 3]          # BATCH_QUIET after the last event, not 30 s
    assert time.monotonic() - started < 15


def test_queue_accepts_all_or_nothing():
    queue = IngestQueue(capacity=5)
    queue.put([1, 2, 3])
    with pytest.raises(QueueFull):
        queue.put([4, 5, 6])
    assert len(queue) == 3
