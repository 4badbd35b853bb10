"""LiveConnection when something fails inside it, in-process without a socket (the socket loop calls
these methods): an exception while handling a client message gets an `error` reply and the socket stays
up; an exception in the periodic check ends the socket with 1011 after the replies already queued.
Nothing escapes either, and `released` frees the registry entry and the hub subscription. A database
that cannot be reached is not a failure of the socket: the message gets `database_unavailable`."""
import json

from sqlalchemy.exc import TimeoutError as PoolTimeout

from live_connection import opened, replies, runtime
from services.realtime.hub import InMemoryHub


class FailingHub(InMemoryHub):
    def subscribe(self, subscription, topics):
        raise RuntimeError("hub broke")


def database_away(*args, **kwargs):
    raise PoolTimeout("QueuePool limit reached, connection timed out")   # what a stopped PostgreSQL gives


class BrokenStatusHub(InMemoryHub):
    def status(self):
        raise RuntimeError("hub status broke")


def test_a_message_whose_handling_fails_gets_an_error_and_the_socket_stays_up():
    rt = runtime(FailingHub())
    conn = opened(rt)
    conn.message(json.dumps({"type": "subscribe", "channels": ["kpis"], "id": 1}))      # never raises
    conn.message(json.dumps({"type": "ping", "id": 2}))
    kinds = [(m["type"], m.get("code"), m.get("id")) for m in replies(conn)]
    assert kinds[0][0] == "welcome" and ("error", "server_error", None) in kinds and ("pong", None, 2) in kinds
    assert not conn.outbox.closed                   # no close asked for


def test_a_failure_outside_a_message_closes_with_1011_after_the_replies_queued():
    rt = runtime(BrokenStatusHub())
    conn = opened(rt)
    conn.message(json.dumps({"type": "ping", "id": 1}))
    conn.check()                                    # the periodic check fails: never raises either
    assert conn.outbox.closed
    code, reason, last_words = conn.closing()
    assert (code, reason) == (1011, "server error")
    assert [json.loads(t)["type"] for t in last_words] == ["welcome", "pong"]
    conn.released()
    assert rt.connections.all() == [] and rt.hub.subscriber_count() == 0


def test_a_signed_out_socket_says_so_in_a_message_before_its_close():
    conn = opened(runtime())
    conn.close(4001, "signed out")
    code, reason, last_words = conn.closing()
    assert (code, reason) == (4001, "signed out") and json.loads(last_words[-1])["type"] == "session_ended"


def test_nesting_deeper_than_the_limit_is_refused_before_parsing():
    from services.realtime.protocol import MAX_DEPTH, ProtocolError, parse_client_message
    import pytest
    for text in ("[" * 30000 + "]" * 30000, '{"type":"ping","id":' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"):
        with pytest.raises(ProtocolError) as info:
            parse_client_message(text)
        assert info.value.code == "too_deep"
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)          # the object itself is one more level
    with pytest.raises(ProtocolError) as info:
        parse_client_message('{"type":"ping","id":' + nested + "}")
    assert info.value.code == "invalid_id"                            # parsed: deep enough is fine
    brackets_in_a_string = json.dumps({"type": "ping", "id": "[" * 100 + '\\"{' * 50})
    assert parse_client_message(brackets_in_a_string)["type"] == "ping"


def test_a_snapshot_asked_for_while_the_database_is_away_gets_database_unavailable_and_the_socket_stays_up():
    conn = opened(runtime(snapshot=database_away))
    conn.message(json.dumps({"type": "snapshot", "id": 1}))
    conn.message(json.dumps({"type": "ping", "id": 2}))
    kinds = [(m["type"], m.get("code"), m.get("id")) for m in replies(conn)]
    assert ("error", "database_unavailable", None) in kinds and ("pong", None, 2) in kinds
    assert not conn.outbox.closed
