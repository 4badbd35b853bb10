"""Hub fan-out and the per-connection coalescing outbox (pure logic, fake clock where time matters)."""
import json

from services.realtime.hub import InMemoryHub, Message, Subscription, topic
from services.realtime.frames import FrameCache
from services.realtime.outbox import FOLD_AT, Coalesced, Outbox


class FakeClock:
    def __init__(self):
        self.now = 100.05           # mid-tick of a 0.1 s frame clock: tick 1000

    def __call__(self):
        return self.now


def point(i):
    return Message("iot_update", None, json.dumps({"type": "iot_update", "n": i}))


def test_hub_delivers_only_subscribed_topics_and_unsubscribes():
    hub = InMemoryHub()
    got_a, got_b = [], []
    a, b = Subscription(lambda t, m: got_a.append((t, m))), Subscription(lambda t, m: got_b.append((t, m)))
    hub.subscribe(a, [topic("default", "iot"), topic("default", "alerts")])
    hub.subscribe(b, [topic("other", "iot")])
    hub.publish(topic("default", "iot"), [point(1)])
    hub.publish(topic("other", "iot"), [point(2)])
    assert [t for t, _ in got_a] == ["default:iot"] and [t for t, _ in got_b] == ["other:iot"]
    hub.unsubscribe(a, [topic("default", "iot")])
    hub.publish(topic("default", "iot"), [point(3)])
    assert len(got_a) == 1
    assert hub.subscriber_count() == 2
    hub.unsubscribe(a)
    assert hub.subscriber_count() == 1


def test_a_failing_subscriber_does_not_stop_the_others():
    hub = InMemoryHub()
    got = []

    def broken(t, m):
        raise RuntimeError("boom")

    hub.subscribe(Subscription(broken), ["default:iot"])
    hub.subscribe(Subscription(lambda t, m: got.append(m)), ["default:iot"])
    hub.publish("default:iot", [point(1)])
    assert len(got) == 1 and hub.delivery_errors == 1


def frame_messages(frames):
    """Frames as sent: replies are text, batch frames `EncodedFrame`s."""
    return [json.loads(getattr(f, "text", f)) for f in frames]


def test_frames_coalesce_keyed_messages_and_cap_points():
    clock = FakeClock()
    box = Outbox(interval=0.1, max_points=3, clock=clock)
    box.add("default:kpis", [Message("kpi_update", "kpis", '{"type":"kpi_update","v":1}')])
    box.add("default:kpis", [Message("kpi_update", "kpis", '{"type":"kpi_update","v":2}')])
    box.add("default:iot", [point(i) for i in range(5)])
    box.add("default:alerts", [Message("alert", None, '{"type":"alert","id":1}')])
    [frame] = frame_messages(box.take())
    assert frame["type"] == "batch" and frame["seq"] == 1000 and frame["dropped"] == 2      # the frame clock's tick
    kinds = [(m["type"], m.get("v", m.get("n", m.get("id")))) for m in frame["messages"]]
    assert kinds == [("kpi_update", 2), ("iot_update", 2), ("iot_update", 3), ("iot_update", 4), ("alert", 1)]


def test_frame_rate_is_limited_but_direct_replies_are_not():
    clock = FakeClock()
    box = Outbox(interval=0.1, clock=clock)
    box.add("default:iot", [point(1)])
    assert len(box.take()) == 1
    box.add("default:iot", [point(2)])
    assert box.take() == []          # 100 ms have not passed on the fake clock
    box.direct('{"type":"pong"}')
    assert box.take() == ['{"type":"pong"}']
    clock.now += 0.1
    [frame] = frame_messages(box.take())
    assert frame["seq"] == 1001 and frame["messages"][0]["n"] == 2


def test_alerts_are_never_dropped_and_overflow_is_flagged():
    box = Outbox(interval=0.0, max_reliable=10, clock=FakeClock())
    box.add("default:alerts", [Message("alert", None, f'{{"type":"alert","id":{i}}}') for i in range(10)])
    assert not box.overflowed
    box.add("default:alerts", [Message("alert", None, '{"type":"alert","id":10}')])
    assert box.overflowed                      # the connection will be closed with 1013, not trimmed
    [frame] = frame_messages(box.take())
    assert [m["id"] for m in frame["messages"]] == list(range(11))


def test_a_stalled_client_gets_a_snapshot_instead_of_stale_deltas():
    clock = FakeClock()
    box = Outbox(interval=0.1, max_points=2, stall_seconds=2.0, snapshot=lambda: '{"type":"snapshot"}', clock=clock)
    box.add("default:iot", [point(0)])
    box.take()
    box.add("default:iot", [point(i) for i in range(1, 6)])
    box.add("default:alerts", [Message("alert", None, '{"type":"alert","id":7}')])
    clock.now += 5                              # it could take no frame for 5 s while this waited
    assert box.take() == [] and box.claim_resync() and not box.claim_resync()   # asked for, once
    assert box.take() == []                     # nothing stale goes while the snapshot is built
    box.resync()                                # on a worker: it reads the database
    snapshot, batch = frame_messages(box.take())
    assert snapshot["type"] == "snapshot"
    assert [m["type"] for m in batch["messages"]] == ["alert"]   # the alert still arrives
    assert box.resyncs == 1


def test_a_quiet_spell_is_not_a_stall():
    clock = FakeClock()
    box = Outbox(interval=0.1, max_points=2, stall_seconds=2.0, snapshot=lambda: '{"type":"snapshot"}', clock=clock)
    box.add("default:iot", [point(0)])
    box.take()
    clock.now += 5                              # nothing to send for 5 s, then a burst over the cap
    box.add("default:iot", [point(i) for i in range(1, 6)])
    [batch] = frame_messages(box.take())
    assert batch["type"] == "batch" and batch["dropped"] == 3 and box.resyncs == 0


def test_a_stalled_client_gets_the_deltas_while_no_snapshot_can_be_had():
    clock = FakeClock()
    box = Outbox(interval=0.1, max_points=2, stall_seconds=2.0, snapshot=lambda: None, clock=clock)   # database away
    box.add("default:iot", [point(0)])
    box.take()
    box.add("default:iot", [point(i) for i in range(1, 6)])
    box.add("default:alerts", [Message("alert", None, '{"type":"alert","id":7}')])
    clock.now += 5
    assert box.take() == [] and box.claim_resync()
    box.resync()
    [batch] = frame_messages(box.take())
    assert batch["type"] == "batch" and batch["dropped"] == 3
    assert [m["type"] for m in batch["messages"]] == ["iot_update", "iot_update", "alert"]
    assert box.resyncs == 0


def test_the_loop_is_woken_for_replies_closes_and_overflow_but_not_for_frames():
    woken = []
    box = Outbox(interval=0.1, max_reliable=1, clock=FakeClock(), on_ready=lambda: woken.append(1))
    box.add("default:iot", [point(1)])                      # taken on the frame clock's next tick
    assert woken == []
    box.direct('{"type":"pong"}')
    box.add("default:alerts", [Message("alert", None, '{"type":"alert","id":1}')] * 2)   # over max_reliable
    box.add("default:alerts", [Message("alert", None, '{"type":"alert","id":3}')])       # still over: once
    box.close()
    assert len(woken) == 3 and box.overflowed and box.closed


def test_closed_outbox_ignores_new_messages_and_returns_nothing():
    box = Outbox(interval=0.0)
    box.close()
    box.add("default:iot", [point(1)])
    assert box.take() == []


def test_sockets_taking_the_same_deliveries_on_the_same_tick_share_one_encoded_frame():
    clock, frames = FakeClock(), FrameCache()
    boxes = [Outbox(interval=0.1, max_points=2, clock=clock, frames=frames) for _ in range(3)]
    hub = InMemoryHub()
    for box in boxes[:2]:
        hub.subscribe(Subscription(box.add), ["default:iot", "default:kpis"])
    hub.subscribe(Subscription(boxes[2].add), ["default:iot"])          # fewer channels: a frame of its own
    hub.publish("default:iot", [point(i) for i in range(3)])
    hub.publish("default:kpis", [Message("kpi_update", "kpis", '{"type":"kpi_update","v":1}')])
    [a], [b], [c] = (box.take() for box in boxes)
    assert a is b and a is not c
    assert json.loads(a.text)["messages"] == json.loads(b.text)["messages"] != json.loads(c.text)["messages"]
    assert frames.stats() == {"frames_encoded": 2, "frames_shared": 1}
    assert a.wire(True) is b.wire(True) and a.wire(False) is b.wire(False)     # the bytes too, once each
    clock.now += 0.1                        # the next tick: equal deliveries again, a new frame (its own seq)
    hub.publish("default:iot", [point(9)])
    [d], [e] = (box.take() for box in boxes[:2])
    assert d is e and json.loads(d.text)["seq"] == 1001 and d is not a


def test_a_socket_that_missed_a_delivery_does_not_get_the_others_frame():
    clock, frames = FakeClock(), FrameCache()
    first, late = (Outbox(interval=0.1, clock=clock, frames=frames) for _ in range(2))
    batch = [point(1)]
    first.add("default:iot", batch)
    first.add("default:iot", [point(2)])
    late.add("default:iot", batch)
    [a], [b] = first.take(), late.take()
    assert a is not b and len(json.loads(a.text)["messages"]) == 2 and len(json.loads(b.text)["messages"]) == 1


def test_a_socket_that_takes_nothing_for_long_keeps_bounded_state_and_loses_nothing_it_should_get():
    box = Outbox(interval=0.1, max_points=5, clock=FakeClock())
    deliveries = []
    for i in range(500):
        deliveries.append(("default:iot", [point(i), point(i + 1000)]))
        deliveries.append(("default:kpis", [Message("kpi_update", "kpis", f'{{"type":"kpi_update","v":{i}}}')]))
        if i % 50 == 0:
            deliveries.append(("default:alerts", [Message("alert", None, f'{{"type":"alert","id":{i}}}')]))
    for topic_name, messages in deliveries:
        box.add(topic_name, messages)
        assert len(box._inputs) <= FOLD_AT
    [frame] = frame_messages(box.take())
    expected = Coalesced(5).add((name.split(":")[1], messages) for name, messages in deliveries)
    assert frame == json.loads(expected.frame_text(frame["seq"]))
    assert frame["dropped"] == 995 and [m["id"] for m in frame["messages"] if m["type"] == "alert"] == list(range(0, 500, 50))
    assert box.messages_merged == 499 and box.points_dropped_total == 995


def system(n):
    return Message("system_update", "system", json.dumps({"type": "system_update", "n": n}))


def test_a_frame_of_only_system_stats_waits_for_the_sockets_phase_and_anything_else_goes_at_once():
    clock = FakeClock()                     # tick 1000: phase 0 of the second
    idle = Outbox(interval=0.1, clock=clock)
    idle.phase = 3
    idle.add("default:system", [system(1)])
    assert idle.take() == []                # not its tick
    clock.now += 0.2
    assert idle.take() == []                # tick 1002
    clock.now += 0.1
    [frame] = frame_messages(idle.take())   # tick 1003: its phase
    assert frame["seq"] == 1003 and frame["messages"][0]["n"] == 1
    idle.add("default:system", [system(2)])
    idle.add("default:alerts", [Message("alert", None, '{"type":"alert","id":7}')])
    clock.now += 0.1
    [frame] = frame_messages(idle.take())   # tick 1004: an alert does not wait, the stats go with it
    assert [m["type"] for m in frame["messages"]] == ["system_update", "alert"]
