"""Corrupt state in Redis degrades with a warning, never a crash or a 500 (docs/ARCHITECTURE.md, Corrupt state).

Model metadata that is not JSON, garbage in a tenant's live state (health hash, points list, KPI buckets and
cache, sensor readings), and a model blob signed with another SECRET_KEY, against a real redis-server.
"""
import json
import logging
import time

import pytest

from helpers import ADMIN_PASSWORD
from services.config import Config
from services.ingest.events import validate_event
from services.ingest.stream_producer import StreamProducer
from services.redis_keys import RedisKeys
from services.runtime.worker import WorkerNode
from services.scoring.model_sync import ModelSync
from services.scoring.models import ModelBank
from services.simulation.retail import RetailSimulator
from services.web.runtime_access import get_runtime

KEYS = RedisKeys()
GARBAGE = b"\xff\xfe not json {"


@pytest.fixture
def config(redis_server, tmp_path):
    return Config(data_dir=tmp_path, redis_url=redis_server.url, simulator=False, market_feed=False,
                  kpi_window_seconds=3600, secret_key="test-secret", admin_password=ADMIN_PASSWORD)


@pytest.fixture
def app(config):
    """The in-process app in distributed mode (overrides the root conftest's embedded `app`)."""
    from app import create_app
    flask_app = create_app(config)
    flask_app.config.update(TESTING=True)
    yield flask_app


def fill(r, config, events: int = 300) -> WorkerNode:
    """A worker that has committed `events` events of the default tenant to Redis."""
    node = WorkerNode(config)
    node.models.warm_up([validate_event(e) for e in RetailSimulator(seed=4).history(1000)])
    StreamProducer(r, KEYS).add([RetailSimulator(seed=5, unique_ids=True).next_event() for _ in range(events)])
    node.consumer.ensure_group()
    deadline = time.monotonic() + 10
    while node.worker.stats.processed < events:
        assert time.monotonic() < deadline, "the worker did not commit the events in time"
        entries = node.consumer.read(1000, 0.01, node.worker._stop, block=0.05)
        if entries:
            node.worker.handle(entries)
    return node


def test_non_json_model_metadata_is_no_model_with_one_warning(r, config, caplog):
    r.set(KEYS.model_meta(), GARBAGE)
    sync = ModelSync(r, KEYS, "test-secret")
    with caplog.at_level(logging.WARNING, "services.scoring.model_sync"):
        assert sync.meta() == {"version": 0} and sync.meta() == {"version": 0}
        assert not sync.recently_published(60)
        node = WorkerNode(config)
        node.start()             # used to exit: json.loads in the first pull
        node.stop()
    assert node.models.models is None
    assert len([m for m in caplog.messages if "model metadata" in m]) == 2     # once per ModelSync, not per read
    for bad in (b"[1, 2]", b'{"version": "two"}', b'{"version": 3, "fitted_at": "soon"}'):
        r.set(KEYS.model_meta(), bad)
        assert sync.meta() == {"version": 0}


def test_corrupt_live_state_entries_are_skipped_counted_and_deleted(r, config, app):
    node = fill(r, config)
    health, points = KEYS.tenant("default", "health"), KEYS.tenant("default", "points")
    kpi, sensors = KEYS.tenant("default", "kpi"), KEYS.tenant("default", "sensors")
    entities = r.hlen(health)
    r.hset(health, "garbage-entity", GARBAGE)
    r.hset(health, "no-score", json.dumps({"store": 1}))
    r.lpush(points, GARBAGE, b"42")
    r.hset(kpi, "not-a-second", b"1,2,3")
    r.hset(kpi, str(int(time.time()) - 5), b"1,2")
    r.hset(sensors, "s-1", GARBAGE)
    r.set(KEYS.tenant("default", "kpis"), GARBAGE)
    r.set(KEYS.model_meta(), GARBAGE)
    r.set(KEYS.system, GARBAGE)

    client = app.test_client()
    token = client.get("/api/csrf").get_json()["csrf_token"]
    assert client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    answer = client.get("/api/live-data")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    live = answer.get_json()
    assert len(live["health"]) == entities and live["points"] and live["kpis"]["event_count"] == 300
    assert live["stats"]["this_process"]["repaired_entries"] == 8
    assert r.hlen(health) == entities and GARBAGE not in r.lrange(points, 0, -1) and b"42" not in r.lrange(points, 0, -1)
    assert r.hlen(kpi) >= 1 and not r.hexists(kpi, "not-a-second") and not r.hexists(sensors, "s-1")
    assert client.get("/api/live-data").get_json()["stats"]["this_process"]["repaired_entries"] == 8   # repaired

    r.hset(health, mapping={field: GARBAGE for field in r.hkeys(health)})   # the writer starts a corrupt
    r.hset(kpi, str(int(time.time())), b"x,y")                             # record afresh, never fails
    before = node.worker.stats.processed
    StreamProducer(r, KEYS).add([RetailSimulator(seed=6, unique_ids=True).next_event() for _ in range(50)])
    deadline = time.monotonic() + 10
    while node.worker.stats.processed < before + 50:
        assert time.monotonic() < deadline, "the worker did not commit over the corrupt entries"
        entries = node.consumer.read(1000, 0.01, node.worker._stop, block=0.05)
        if entries:
            node.worker.handle(entries)
    assert node.worker.stats.batch_errors == 0
    fresh = [json.loads(v) for v in r.hvals(health) if v != GARBAGE]
    assert fresh and sum(h["events"] for h in fresh) == 50


def test_a_model_signed_with_another_key_is_logged_once_and_never_reported(r, config, app, caplog):
    trainer = ModelBank(seed=0, sync=ModelSync(r, KEYS, "another-secret"), name="a")
    trainer.warm_up([validate_event(e) for e in RetailSimulator(seed=4).history(1000)])
    assert trainer.models.version == 1
    bank = ModelBank(seed=0, sync=ModelSync(r, KEYS, "test-secret"), name="b")
    with caplog.at_level(logging.ERROR, "services.scoring.model_sync"):
        for _ in range(3):
            assert not bank.pull()
    assert bank.models is None and bank.sync.rejected_blobs == 1
    assert len([m for m in caplog.messages if "bad signature" in m]) == 1
    trainer.fit_now()
    trainer.sync.publish(trainer.models, trainer.baselines.export(), "a")      # another blob: reported again
    assert not bank.pull() and bank.sync.rejected_blobs == 2

    runtime = get_runtime(app)
    snapshot = runtime.backend.live("default", runtime)
    assert snapshot["model"] == {"ready": False, "version": 0}       # the meta says 2; nobody verified it
