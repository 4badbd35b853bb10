"""What a socket tells its client about the hub (Redis, in distributed mode), and how many snapshots it
sends, in-process without a socket: the connection's hub-status logic over the statuses a relay goes
through. A web process that just started (its relay making its first subscription) tells nothing and
answers a snapshot asked for meanwhile once, when the relay has subscribed: after a restart every page
asks at once, and each must get one snapshot, not one now and another for the subscription. An outage
later on is announced, a snapshot asked for during it is the last state, and the hub's return comes
with a resync and one fresh snapshot."""
import json

from live_connection import opened, replies, runtime
from services.realtime.hub import InMemoryHub


class RelayHub(InMemoryHub):
    """An in-process hub whose status the test sets, as a Redis relay's moves (services.realtime.redis_hub)."""

    def __init__(self):
        super().__init__()
        self.state = {"kind": "redis", "connected": False, "generation": 0, "starting": True}

    def status(self):
        return dict(self.state)


def kinds(conn) -> list[tuple]:
    return [(m["type"], m.get("state"), m.get("resync"), m.get("id")) for m in replies(conn)]


def counting_runtime(hub):
    built = []
    rt = runtime(hub, snapshot=lambda tenant, since=None, selection=None: built.append(1) or {"type": "snapshot"})
    return rt, built


def test_a_snapshot_asked_for_while_the_relay_first_subscribes_comes_once_when_it_has():
    hub = RelayHub()
    rt, built = counting_runtime(hub)
    conn = opened(rt)
    replies(conn)                                                   # the welcome
    conn.message(json.dumps({"type": "subscribe", "channels": ["iot"], "id": 1}))
    conn.message(json.dumps({"type": "snapshot", "id": "a"}))
    conn.check()
    conn.message(json.dumps({"type": "snapshot", "id": "b"}))       # the page asks again 3 s later
    conn.check()
    assert kinds(conn) == [("subscribed", None, None, 1)]           # no status, no snapshot yet
    hub.state = {"kind": "redis", "connected": True, "generation": 1, "starting": False}
    conn.check()
    conn.check()
    assert kinds(conn) == [("snapshot", None, None, "b")] and len(built) == 1    # one, for the last request
    conn.message(json.dumps({"type": "snapshot", "id": "c"}))       # asked now: answered now
    assert kinds(conn) == [("snapshot", None, None, "c")]


def test_a_snapshot_made_after_the_subscription_is_not_sent_again():
    hub = RelayHub()
    rt, built = counting_runtime(hub)
    conn = opened(rt)
    conn.check()                                                     # seen starting
    hub.state = {"kind": "redis", "connected": True, "generation": 1, "starting": False}
    conn.message(json.dumps({"type": "snapshot", "id": "a"}))
    conn.check()
    conn.check()
    assert [k for k in kinds(conn) if k[0] != "welcome"] == [("snapshot", None, None, "a")] and len(built) == 1


def test_an_outage_is_announced_the_last_state_served_and_the_return_resyncs_once():
    hub = RelayHub()
    hub.state = {"kind": "redis", "connected": True, "generation": 1, "starting": False}
    rt, _ = counting_runtime(hub)
    conn = opened(rt)
    conn.message(json.dumps({"type": "snapshot", "id": "a"}))
    conn.check()
    assert kinds(conn)[1:] == [("snapshot", None, None, "a")]
    hub.state = {"kind": "redis", "connected": False, "generation": 1, "starting": False}
    conn.check()
    conn.message(json.dumps({"type": "snapshot", "id": "b"}))       # during the outage: the last state, now
    assert kinds(conn) == [("status", "degraded", None, None), ("snapshot", None, None, "b")]
    hub.state = {"kind": "redis", "connected": True, "generation": 2, "starting": False}
    conn.check()
    conn.check()
    assert kinds(conn) == [("status", "live", True, None), ("snapshot", None, None, None)]


def test_a_relay_that_fails_its_first_subscription_is_announced_and_snapshots_are_served():
    hub = RelayHub()
    rt, _ = counting_runtime(hub)
    conn = opened(rt)
    replies(conn)
    conn.message(json.dumps({"type": "snapshot", "id": "a"}))       # while starting: waits
    hub.state = {"kind": "redis", "connected": False, "generation": 0, "starting": False}   # Redis is down
    conn.check()
    assert kinds(conn) == [("status", "degraded", None, None)]
    conn.message(json.dumps({"type": "snapshot", "id": "b"}))       # asked again: the last state, now
    assert kinds(conn) == [("snapshot", None, None, "b")]
    hub.state = {"kind": "redis", "connected": True, "generation": 1, "starting": False}
    conn.check()
    assert kinds(conn) == [("status", "live", True, None), ("snapshot", None, None, None)]
