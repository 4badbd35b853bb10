"""Parsing client messages: every bad input becomes a ProtocolError with a code, never an exception."""
import json

import pytest

from services.realtime.protocol import ProtocolError, batch_frame, encode, parse_client_message, with_fields


@pytest.mark.parametrize("text, parsed", [
    ('{"type":"subscribe","channels":["iot","kpis","iot"]}', {"type": "subscribe", "channels": ["iot", "kpis"]}),
    ('{"type":"unsubscribe","channels":["alerts"],"id":3}', {"type": "unsubscribe", "channels": ["alerts"], "id": 3}),
    ('{"type":"ping","id":"p1"}', {"type": "ping", "id": "p1"}),
    ('{"type":"snapshot"}', {"type": "snapshot"}),
    ('{"type":"snapshot","since_alert_id":12}', {"type": "snapshot", "since_alert_id": 12}),
])
def test_valid_messages(text, parsed):
    assert parse_client_message(text) == parsed


@pytest.mark.parametrize("text, code", [
    ("not json", "invalid_json"),
    ("", "invalid_json"),
    ("[1,2]", "invalid_message"),
    ('"ping"', "invalid_message"),
    ('{"type":"explode"}', "unknown_type"),
    ('{"channels":["iot"]}', "unknown_type"),
    ('{"type":"subscribe"}', "invalid_channels"),
    ('{"type":"subscribe","channels":[]}', "invalid_channels"),
    ('{"type":"subscribe","channels":"iot"}', "invalid_channels"),
    ('{"type":"subscribe","channels":[1]}', "invalid_channels"),
    ('{"type":"subscribe","channels":["iot","secret"]}', "unknown_channel"),
    ('{"type":"ping","id":{"a":1}}', "invalid_id"),
    ('{"type":"ping","id":true}', "invalid_id"),
    ('{"type":"snapshot","since_alert_id":-1}', "invalid_since_alert_id"),
    (b'{"type":"ping"}', "binary_not_supported"),
])
def test_bad_messages_have_codes(text, code):
    with pytest.raises(ProtocolError) as info:
        parse_client_message(text)
    assert info.value.code == code and str(info.value)


def test_frames_are_valid_json_built_from_encoded_messages():
    frame = batch_frame(7, [encode({"type": "a"}), encode({"type": "b", "x": [1, 2]})], dropped=3)
    assert json.loads(frame) == {"type": "batch", "seq": 7, "dropped": 3,
                                 "messages": [{"type": "a"}, {"type": "b", "x": [1, 2]}]}
    assert json.loads(batch_frame(1, [])) == {"type": "batch", "seq": 1, "dropped": 0, "messages": []}


def test_encode_refuses_nan():
    with pytest.raises(ValueError):
        encode({"x": float("nan")})


def test_fields_are_added_to_an_encoded_object_without_decoding_it():
    shared = encode({"type": "snapshot", "alerts": [{"id": 1}]})
    own = with_fields(shared, {"missed_alerts": [{"id": 2}], "id": "snap-3"})
    assert json.loads(own) == {"type": "snapshot", "alerts": [{"id": 1}], "missed_alerts": [{"id": 2}], "id": "snap-3"}
    assert with_fields(shared, {}) is shared and json.loads(with_fields("{}", {"id": 1})) == {"id": 1}
