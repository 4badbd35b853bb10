"""The Redis Stream ingest, worker, shared state and coordination, in-process against a real redis-server.

Each test gets an empty Redis (FLUSHALL) and its own DATA_DIR. Workers are real WorkerNodes; the
only stand-in is a model that raises on purpose, to prove what happens to poison events.
"""
import json
import time
from collections import Counter
from dataclasses import replace

import pytest
import redis

from services.config import Config
from services.ingest.events import validate_event
from services.realtime.hub import Subscription, topic
from services.ingest.queue import IngestUnavailable
from services.ingest.bridge import IngestBridge
from services.cluster.lease import Lease
from services.scoring.model_sync import ModelSync
from services.scoring.models import ModelBank
from services.security.ratelimit import RedisTokenBuckets
from services.redis_keys import RedisKeys
from services.simulation.retail import RetailSimulator
from services.ingest.stream_producer import StreamProducer
from services.runtime.worker import WorkerNode

KEYS = RedisKeys()


@pytest.fixture
def config(redis_server, tmp_path):
    return Config(data_dir=tmp_path, redis_url=redis_server.url, simulator=False, claim_idle_seconds=0.3,
                  max_attempts=2, kpi_window_seconds=3600, secret_key="test-secret")


def sim_events(n, seed=4, anomaly_rate=0.0, sim=None):
    sim = sim or RetailSimulator(seed=seed, anomaly_rate=anomaly_rate, unique_ids=True)
    return [sim.next_event() for _ in range(n)]


def warmed_node(config, **kwargs) -> WorkerNode:
    node = WorkerNode(config, **kwargs)
    node.models.warm_up([validate_event(e) for e in RetailSimulator(seed=4).history(1000)])
    return node


def drain(node: WorkerNode, until, timeout=10.0) -> None:
    """Run the node's worker loop by hand (no threads) until `until()` holds."""
    deadline = time.monotonic() + timeout
    node.consumer.ensure_group()
    while not until():
        assert time.monotonic() < deadline, "worker did not get there in time"
        entries = node.consumer.read(1000, 0.01, node.worker._stop, block=0.05)
        if entries:
            node.worker.handle(entries)


def group(r) -> dict:
    return {g["name"].decode(): g for g in r.xinfo_groups(KEYS.stream)}[KEYS.group]


# -- admission ----------------------------------------------------------------------------------

def test_admission_is_durable_deduplicated_and_all_or_nothing(r):
    producer = StreamProducer(r, KEYS, max_backlog=5)
    a, b, c = sim_events(3)
    assert producer.add([a, b]) == (2, 0)
    assert producer.add([a, c, c]) == (1, 2)             # a seen before, c twice in one call
    assert r.xlen(KEYS.stream) == 3
    assert json.loads(r.xrange(KEYS.stream)[0][1][b"e"])["event_id"] == a["event_id"]
    with pytest.raises(IngestUnavailable, match="backlog is full"):
        producer.add(sim_events(3, seed=9))              # 3 + 3 > 5: none of them
    assert r.xlen(KEYS.stream) == 3
    dead = StreamProducer(redis.Redis(port=1, socket_connect_timeout=0.2), KEYS)
    with pytest.raises(IngestUnavailable, match="unavailable"):
        dead.add(sim_events(1))


def test_large_posts_are_admitted_and_deduplicated_whole(r):
    producer = StreamProducer(r, KEYS)
    events = sim_events(2500)
    assert producer.add(events) == (2500, 0)
    assert producer.add(events[::-1]) == (0, 2500)
    assert r.xlen(KEYS.stream) == 2500
    assert json.loads(r.xrevrange(KEYS.stream, count=1)[0][1][b"e"]) == events[-1]     # payloads split exactly


def test_the_same_event_id_in_two_tenants_is_two_events(r):
    producer = StreamProducer(r, KEYS)
    e = sim_events(1)[0]
    assert producer.add([dict(e, tenant="a"), dict(e, tenant="b")]) == (2, 0)


# -- the worker ---------------------------------------------------------------------------------

def test_the_worker_turns_the_stream_into_shared_state(r, config):
    node = warmed_node(config)
    got = []
    node.hub.local.subscribe(Subscription(lambda t, m: got.extend((t, x.type) for x in m)),
                             [topic("default", c) for c in ("iot", "alerts")])
    events = sim_events(600, anomaly_rate=0.05)
    StreamProducer(r, KEYS).add(events)
    drain(node, lambda: node.worker.stats.processed == 600)
    kpis = node.state.compute_kpis()["default"]
    sales = [e["weekly_sales"] for e in events]
    assert kpis["event_count"] == 600
    assert kpis["avg_weekly_sales"] == pytest.approx(sum(sales) / 600, abs=0.01)
    assert kpis["max_weekly_sales"] == pytest.approx(max(sales), abs=0.01)
    assert 50 <= len(node.state.points("default", 500)) <= 200     # the newest 50 of each batch, 200 kept
    health = node.state.health("default")
    assert health and sum(h["events"] for h in health) == 600
    alerts = node.alerts.recent("default", 500)
    assert alerts and len({a["event_id"] for a in alerts}) == len(alerts)
    g = group(r)
    assert g["pending"] == 0 and g["lag"] == 0


def test_unreadable_and_invalid_entries_are_dead_lettered_and_the_rest_flows(r, config):
    node = warmed_node(config)
    good = sim_events(20)
    r.xadd(KEYS.stream, {"e": "{not json"})
    r.xadd(KEYS.stream, {"e": json.dumps(dict(good[0], event_id="bad-1", weekly_sales="lots"))})
    r.xadd(KEYS.stream, {"other": "field"})
    StreamProducer(r, KEYS).add(good)
    drain(node, lambda: node.worker.stats.processed == 20 and r.xlen(KEYS.dead_letter) == 3)
    reasons = sorted(fields[b"reason"].decode() for _, fields in r.xrange(KEYS.dead_letter))
    assert reasons[0].startswith("invalid: weekly_sales: must be a number")
    assert all(x.startswith("unparseable") for x in reasons[1:])
    assert group(r)["pending"] == 0
    assert node.worker.stats.rejected["event: not JSON"] == 2


class FailsOn(ModelBank):
    """A model that raises for one event id: a stand-in for a model bug that real data triggers."""

    def __init__(self, poison: str, **kwargs):
        super().__init__(**kwargs)
        self.poison = poison

    def score(self, events):
        if any(e["event_id"] == self.poison for e in events):
            raise RuntimeError("model exploded on this event")
        return super().score(events)


def test_an_event_the_model_fails_on_is_retried_then_dead_lettered(r, config):
    node = warmed_node(config)
    events = sim_events(50)
    poison = FailsOn(events[17]["event_id"], seed=0)
    poison.models, poison.baselines = node.models.models, node.models.baselines
    node.worker.processor.models = poison
    StreamProducer(r, KEYS).add(events)
    drain(node, lambda: node.worker.stats.processed == 49)
    assert r.xlen(KEYS.dead_letter) == 0 and group(r)["pending"] == 1     # one attempt so far, kept
    time.sleep(0.4)                                                       # past CLAIM_IDLE_SECONDS: reclaimed
    drain(node, lambda: r.xlen(KEYS.dead_letter) == 1)
    (_, dead), = r.xrange(KEYS.dead_letter)
    assert dead[b"reason"].decode() == "model error: RuntimeError: model exploded on this event"
    assert dead[b"attempts"] == b"2" and json.loads(dead[b"event"])["event_id"] == events[17]["event_id"]
    assert group(r)["pending"] == 0 and node.worker.stats.processed == 49


def test_events_a_dead_worker_read_are_reclaimed_and_alerted_exactly_once(r, config):
    sim = RetailSimulator(seed=4, anomaly_rate=0.0, unique_ids=True)
    RetailSimulator(seed=4).history(1000)
    for _ in range(400):                                       # warm the entities up
        sim.next_event()
    events = [sim.next_event() for _ in range(200)]
    for e in events[::20]:                                     # 10 unmistakable spikes
        e["weekly_sales"] *= 12
    StreamProducer(r, KEYS).add(events)
    # A worker reads everything and dies before acknowledging: the entries stay pending for it.
    r.xgroup_create(KEYS.stream, KEYS.group, id="0")
    assert len(r.xreadgroup(KEYS.group, "dead-worker", {KEYS.stream: ">"}, count=1000)[0][1]) == 200
    node = warmed_node(config)
    node.hub.start()
    assert node.hub.wait_connected()
    published = []
    node.hub.local.subscribe(Subscription(lambda t, m: published.extend(json.loads(x.json)["id"] for x in m)),
                             [topic("default", "alerts")])
    time.sleep(0.4)
    drain(node, lambda: node.worker.stats.processed == 200)
    assert node.consumer.reclaimed == 200
    assert node.state.compute_kpis()["default"]["event_count"] == 200
    alerted = {a["event_id"] for a in node.alerts.recent("default", 500)}
    assert {e["event_id"] for e in events[::20]} <= alerted
    assert wait(lambda: len(published) == len(alerted))
    assert len(published) == len(set(published))
    node.hub.close()
    # The "dead" worker wakes up and tries to commit the same batch: nothing is counted twice.
    late = node.state.commit("dead-worker", [i.decode() for i, _ in r.xrange(KEYS.stream)], [], [])
    assert not late.applied and not any(late.pending)
    assert node.state.compute_kpis()["default"]["event_count"] == 200


def test_the_worker_thread_survives_a_redis_outage(redis_server, config):
    node = warmed_node(config)
    node.worker.start()
    try:
        producer = StreamProducer(redis.Redis.from_url(redis_server.url), KEYS)
        producer.add(sim_events(10))
        assert wait(lambda: node.worker.stats.processed == 10)
        redis_server.stop()
        assert wait(lambda: not node.worker.connected)
        redis_server.start()
        producer.add(sim_events(10, seed=8))     # a fresh Redis (no persistence here): the group is re-created
        assert wait(lambda: node.worker.stats.processed == 20, timeout=15)
        assert node.worker.connected and node.worker.redis_errors >= 1
    finally:
        node.stop()


def wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


# -- coordination -------------------------------------------------------------------------------

def test_one_model_version_is_trained_and_loaded_by_every_worker(r):
    a = ModelBank(sync=ModelSync(r, KEYS, "s3cret"), name="a")
    b = ModelBank(sync=ModelSync(r, KEYS, "s3cret"), name="b")
    a.warm_up([validate_event(e) for e in RetailSimulator(seed=2).history(1000)])
    assert a.models.version == 1 and ModelSync(r, KEYS, "s3cret").meta()["worker"] == "a"
    assert b.pull() and b.models.version == 1 and len(b.baselines) == len(a.baselines) > 0
    with a.sync.training_lock() as first, b.sync.training_lock() as second:
        assert first and not second                          # one trainer at a time
    b.warm_up([validate_event(e) for e in RetailSimulator(seed=3).history(300)])
    assert b.models.version == 1                               # a fresh model exists: loaded, not refitted
    stranger = ModelBank(sync=ModelSync(r, KEYS, "another-secret"))
    assert not stranger.pull() and stranger.sync.rejected_blobs == 1   # unsigned for us: refused, never unpickled
    blob = r.get(KEYS.model())
    r.set(KEYS.model(), blob[:-10] + b"0123456789")
    assert not ModelBank(sync=ModelSync(r, KEYS, "s3cret")).pull()


def test_the_leader_lease_has_one_holder_and_passes_on_when_it_lapses(r):
    a, b = Lease(r, KEYS.leader, "a", ttl=0.3), Lease(r, KEYS.leader, "b", ttl=0.3)
    assert a.refresh() and not b.refresh()
    assert a.refresh()                                        # renewing keeps it
    time.sleep(0.4)                                           # a stopped renewing (died)
    assert b.refresh() and not a.refresh()
    b.release()
    assert a.refresh()


def test_trimming_never_drops_unprocessed_events(r, config):
    node = warmed_node(config)
    StreamProducer(r, KEYS).add(sim_events(1000))
    node.consumer.ensure_group()
    entries = node.consumer.read(600, 0.0, node.worker._stop)
    node.worker.handle(entries)
    node.consumer.trim()
    assert r.xlen(KEYS.stream) < 1000                        # finished entries go
    rest = r.xrange(KEYS.stream, min="(" + entries[-1].id)
    assert len(rest) == 400                                   # every unprocessed one is still there


def test_the_ingest_rate_limit_is_shared_by_web_workers(r):
    a = RedisTokenBuckets(r, KEYS.rate, rate=10)
    b = RedisTokenBuckets(r, KEYS.rate, rate=10)
    assert a.take("key1", 6) == (True, 0)
    allowed, retry = b.take("key1", 6)
    assert not allowed and retry >= 1
    assert b.take("key2", 6) == (True, 0)


def test_fire_and_forget_producers_publish_on_the_ingest_channel(r, config):
    rejected = Counter()
    bridge = IngestBridge(r, KEYS, StreamProducer(r, KEYS), 1000, count_rejected=lambda label: rejected.update([label]))
    bridge.start()
    try:
        assert wait(lambda: r.pubsub_numsub(KEYS.ingest_channel)[0][1] == 1)
        one, two, three = sim_events(3)
        r.publish(KEYS.ingest_channel, json.dumps([one, two]))
        r.publish(KEYS.ingest_channel, json.dumps(three))
        r.publish(KEYS.ingest_channel, json.dumps(three))         # again: de-duplicated
        r.publish(KEYS.ingest_channel, "not json")
        r.publish(KEYS.ingest_channel, json.dumps(dict(one, event_id="x", store=-1)))
        assert wait(lambda: bridge.received == 5)
        assert r.xlen(KEYS.stream) == 3 and r.xlen(KEYS.dead_letter) == 2
        reasons = {f[b"reason"].decode()[:20] for _, f in r.xrange(KEYS.dead_letter)}
        assert reasons == {"unparseable: Expecti", "invalid: store: must"}
        assert rejected["event: not JSON"] == 1 and sum(rejected.values()) == 2      # the System page's figures
    finally:
        bridge.stop()


def test_kpi_buckets_merge_exactly_across_batches_and_workers(r, config):
    first, second = warmed_node(config), warmed_node(replace(config, sim_seed=1), name="worker-two")
    events = sim_events(900)
    StreamProducer(r, KEYS).add(events)
    first.consumer.ensure_group()
    first.worker.handle(first.consumer.read(300, 0.0, first.worker._stop))
    second.worker.handle(second.consumer.read(300, 0.0, second.worker._stop))
    first.worker.handle(first.consumer.read(300, 0.0, first.worker._stop))
    kpis = first.state.compute_kpis()["default"]
    sales = [e["weekly_sales"] for e in events]
    mean = sum(sales) / len(sales)
    std = (sum((s - mean) ** 2 for s in sales) / (len(sales) - 1)) ** 0.5
    assert kpis["event_count"] == 900
    assert kpis["volatility"] == pytest.approx(std / mean * 100, abs=0.01)


def test_the_simulator_and_replay_clis_write_to_the_stream_directly(r, redis_server, tmp_path):
    import subprocess
    import sys

    from helpers import ROOT
    from services.simulation.sensor import generate_sensor_csv
    sim = subprocess.run([sys.executable, "-m", "services.simulation.simulator", "--redis", redis_server.url, "--profile", "sensor",
                          "--rate", "200", "--interval", "0.1", "--duration", "1", "--seed", "3"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert sim.returncode == 0, sim.stderr
    sent = r.xlen(KEYS.stream)
    assert 150 <= sent <= 220 and f"sent {sent} events" in sim.stdout
    assert json.loads(r.xrange(KEYS.stream, count=1)[0][1][b"e"])["sensor_type"] in ("temperature", "vibration",
                                                                                       "pressure", "current")
    path = generate_sensor_csv(tmp_path / "s.csv", assets=1, hours=2)
    args = [sys.executable, "-m", "services.simulation.replay", str(path), "--redis", redis_server.url, "--no-realtime",
            "--tenant", "acme"]
    for _ in range(2):                                     # the second run is all duplicates
        out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "replayed 8 events" in out.stdout, out.stderr
    assert r.xlen(KEYS.stream) == sent + 8
    assert json.loads(r.xrevrange(KEYS.stream, count=1)[0][1][b"e"])["tenant"] == "acme"
    bad = subprocess.run([sys.executable, "-m", "services.simulation.simulator", "--url", "http://127.0.0.1:1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--url needs --api-key" in bad.stderr
