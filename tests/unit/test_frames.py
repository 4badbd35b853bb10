"""Frames encoded once for every socket (services.realtime.frames): the bytes read back as a WebSocket
client reads them, with wsproto as the client, and deflated frames inflate without any earlier context."""
import zlib

from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import TextMessage
from wsproto.extensions import PerMessageDeflate

from services.realtime.frames import (DEFLATE_TAIL, EncodedFrame, FrameCache, RecentTexts, deflate_message, tick,
                                     ticks_per_second, wire_frame)


def client(deflate: bool) -> Connection:
    extensions = []
    if deflate:
        extension = PerMessageDeflate()
        extension.finalize("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        extensions = [extension]
    return Connection(ConnectionType.CLIENT, extensions=extensions)


def received(conn: Connection, data: bytes) -> list[str]:
    conn.receive_data(data)
    return [event.data for event in conn.events() if isinstance(event, TextMessage)]


def test_frames_of_every_length_class_read_back_plain_and_deflated():
    for size in (0, 125, 126, 65535, 65536, 300_000):
        text = ("é" + "x" * size)[:size] if size else ""
        frame = EncodedFrame(text)
        assert received(client(False), frame.wire(False)) == [text]
        assert received(client(True), frame.wire(True)) == [text]


def test_each_deflated_message_stands_alone():
    # a client that inflates two messages in a row with one context must not need the first for the second
    text = '{"type":"batch","messages":[' + ",".join(['{"a":1}'] * 200) + "]}"
    first, second = deflate_message(text.encode()), deflate_message(text.encode())
    assert first == second and not first.endswith(DEFLATE_TAIL)
    assert zlib.decompressobj(-zlib.MAX_WBITS).decompress(second + DEFLATE_TAIL) == text.encode()
    conn = client(True)
    assert received(conn, wire_frame(first, compressed=True) + wire_frame(second, compressed=True)) == [text, text]


def test_the_cache_keeps_one_tick_and_counts():
    cache, built = FrameCache(), []

    def build(text):
        return lambda: built.append(text) or EncodedFrame(text)

    a = cache.get((5, "k"), None, build("a"))
    assert cache.get((5, "k"), None, build("again")) is a and built == ["a"]
    b = cache.get((6, "k"), None, build("b"))              # a new tick: the old entries are gone
    assert b is not a and b.text == "b"
    late = cache.get((5, "k"), None, build("late"))        # a sender behind the clock: built, not cached
    assert late.text == "late" and cache.get((6, "k"), None, build("x")) is b
    assert cache.stats() == {"frames_encoded": 3, "frames_shared": 2}


def test_tick_is_the_interval_grid():
    assert tick(100.05, 0.1) == 1000 and tick(100.15, 0.1) == 1001 and tick(0.0, 0.1) == 0


def test_ticks_per_second_are_the_phases_of_a_second():
    assert [ticks_per_second(i) for i in (0.1, 0.25, 1.0, 3.0, 0.0)] == [10, 4, 1, 1, 1]


def test_recent_texts_are_built_once_per_key_within_their_ttl():
    now = [10.0]
    texts, built = RecentTexts(ttl=0.25, clock=lambda: now[0]), []

    def build(text):
        return lambda: built.append(text) or text

    assert texts.get(("t1", None), build("a")) == "a"
    assert texts.get(("t1", None), build("b")) == "a"        # within the ttl: the same text
    assert texts.get(("t2", None), build("c")) == "c"        # another tenant: its own
    now[0] += 0.3
    assert texts.get(("t1", None), build("d")) == "d" and built == ["a", "c", "d"]
    assert (texts.built, texts.shared) == (3, 1)
