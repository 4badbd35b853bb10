"""The Redis hub against a real redis-server: fan-out across hubs (processes), outages survived."""
import json
import time

import pytest
import redis
import requests

from helpers import LiveServer, recv_json, recv_until
from services.realtime.hub import Message, Subscription, topic
from services.realtime.redis_hub import RedisHub


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def hubs(redis_server):
    a, b = RedisHub(redis_server.url), RedisHub(redis_server.url)
    for h in (a, b):
        h.start()
        assert h.wait_connected()
    yield a, b
    a.close()
    b.close()


def test_a_publish_reaches_subscribers_of_every_hub(hubs):
    a, b = hubs
    got_a, got_b = [], []
    a.subscribe(Subscription(lambda t, m: got_a.extend(m)), [topic("default", "iot")])
    b.subscribe(Subscription(lambda t, m: got_b.extend(m)), [topic("default", "iot")])
    messages = [Message("iot_update", None, '{"type":"iot_update","n":1}'),
                Message("kpi_update", "kpis", '{"type":"kpi_update"}')]
    a.publish(topic("default", "iot"), messages)
    assert wait_for(lambda: len(got_a) == 2 and len(got_b) == 2)
    assert got_b == messages                                    # type, coalescing key and JSON intact


def test_tenants_do_not_hear_each_other(hubs):
    a, b = hubs
    got = []
    b.subscribe(Subscription(lambda t, m: got.append(t)), [topic("acme", "alerts")])
    a.publish(topic("other", "alerts"), [Message("alert", None, "{}")])
    a.publish(topic("acme", "alerts"), [Message("alert", None, "{}")])
    assert wait_for(lambda: got == ["acme:alerts"])
    time.sleep(0.2)
    assert got == ["acme:alerts"]


def test_redis_outage_is_survived_and_the_relay_reconnects(redis_server):
    hub = RedisHub(redis_server.url)
    hub.start()
    assert hub.wait_connected()
    got = []
    hub.subscribe(Subscription(lambda t, m: got.extend(m)), ["default:kpis"])
    redis_server.stop()
    assert wait_for(lambda: not hub.connected)
    hub.publish("default:kpis", [Message("kpi_update", "kpis", "{}")])      # must not raise
    assert hub.publish_errors == 1
    redis_server.start()
    assert hub.wait_connected(timeout=15)
    hub.publish("default:kpis", [Message("kpi_update", "kpis", '{"after":1}')])
    assert wait_for(lambda: got and got[-1].json == '{"after":1}')
    hub.close()


def test_the_app_streams_through_redis_when_redis_url_is_set(redis_server, tmp_path):
    srv = LiveServer(tmp_path / "srv", SIM_RATE=30, REDIS_URL=redis_server.url).start()
    try:
        ws = srv.ws(srv.session())
        recv_json(ws)
        ws.send(json.dumps({"type": "subscribe", "channels": ["iot", "kpis"]}))
        frame = recv_until(ws, lambda m: m["type"] == "batch" and any(x["type"] == "iot_update" for x in m["messages"]))
        assert frame["seq"] >= 1
        assert redis.Redis.from_url(redis_server.url).pubsub_numpat() >= 1     # the relay listens on Redis
        assert srv.session().get(srv.url + "/api/live-data").json()["stats"]["hub"]["kind"] == "redis"
        ws.close()
    finally:
        srv.stop()


def test_clients_are_told_when_redis_is_lost_and_back_and_pages_keep_serving(tmp_path):
    from helpers import RedisServer
    redis_srv = RedisServer(tmp_path / "redis").start()
    srv = LiveServer(tmp_path / "srv", SIM_RATE=20, REDIS_URL=redis_srv.url).start()
    try:
        ws = srv.ws(srv.session())
        recv_json(ws)
        ws.send(json.dumps({"type": "subscribe", "channels": ["kpis"]}))
        recv_until(ws, lambda m: m["type"] == "batch")
        redis_srv.stop()
        degraded = recv_until(ws, lambda m: m["type"] == "status", timeout=15)
        assert degraded["state"] == "degraded" and degraded["hub"]["kind"] == "redis"
        assert srv.session().get(srv.url + "/", allow_redirects=False).status_code == 200    # pages still served
        health = requests.get(srv.url + "/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert health.json()["checks"]["redis"] == "unavailable"
        redis_srv.start()
        assert recv_until(ws, lambda m: m["type"] == "status", timeout=30)["state"] == "live"
        recv_until(ws, lambda m: m["type"] == "batch", timeout=15)                            # streaming resumed
        ws.close()
    finally:
        srv.stop()
        redis_srv.stop()
