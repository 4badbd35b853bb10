"""The WebSocket protocol: parsing what clients send and encoding what the server sends.

Every message is a JSON object with a `type`. docs/PROTOCOL.md is the reference for both
directions; this module is the single place that builds them (stores return rows, the socket
handler, the pipeline, the market feed and the REST fallback call the builders here), so every
path produces identical messages.
"""
from __future__ import annotations

import json
import re
import time

from services.realtime.selection import Selection, SelectionError
from services.timestamps import now_iso
from services.realtime.hub import CHANNELS

# Close codes the server uses besides the standard ones (docs/PROTOCOL.md).
CLOSE_TRY_AGAIN = 1013   # "try again later": the client fell too far behind; reconnect and resync
CLOSE_SIGNED_OUT = 4001  # the session ended (logout): do not reconnect, sign in again
CLOSE_DISABLED = 4003    # the account was disabled while connected
CLOSE_POLICY = 1008      # idle (never subscribed) or flooding the server with messages
CLOSE_SERVER_ERROR = 1011  # the handler failed: reconnect
MAX_DEPTH = 32           # arrays/objects nested deeper than this are refused before parsing ("too_deep")

REFUSALS = ("account disabled", "API key revoked")     # reasons that close with 4003, not 4001


def close_code_for(reason: str) -> int:
    """The close code for a socket whose principal may no longer be connected: 4003 when it is
    refused (the account disabled, the key revoked), 4001 when its session ended (sign in again)."""
    return CLOSE_DISABLED if reason in REFUSALS else CLOSE_SIGNED_OUT


ALERT_WORKFLOW_FIELDS = ("acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at")
CLIENT_TYPES = ("subscribe", "unsubscribe", "ping", "snapshot", "calculate", "filter")


class ProtocolError(ValueError):
    """A client message we cannot act on. `code` is machine-readable, the message human-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def encode(message: dict) -> str:
    """Compact JSON; NaN/Infinity are refused so every frame is valid JSON for browsers."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


def _channels(message: dict) -> list[str]:
    channels = message.get("channels")
    if not isinstance(channels, list) or not channels or not all(isinstance(c, str) for c in channels):
        raise ProtocolError("invalid_channels", "'channels' must be a non-empty list of channel names")
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown:
        raise ProtocolError("unknown_channel",
                            f"unknown channel(s) {', '.join(unknown)}; known: {', '.join(CHANNELS)}")
    return list(dict.fromkeys(channels))


# A JSON string (an unterminated one runs to the end, so the scan stays linear) or a bracket.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether `text` nests arrays/objects deeper than `limit`, found without parsing it: json.loads
    recurses once per level, so 30,000 levels (well under the size limit) raise RecursionError.
    Brackets inside strings do not count; a message with few brackets is not scanned at all."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        first = token.group()[0]
        if first in "[{":
            depth += 1
            if depth > limit:
                return True
        elif first in "]}":
            depth -= 1
    return False


def parse_client_message(text) -> dict:
    """Validate one inbound message; returns a normalised dict or raises ProtocolError."""
    if isinstance(text, bytes):
        raise ProtocolError("binary_not_supported", "send JSON text frames, not binary")
    if not isinstance(text, str):
        raise ProtocolError("invalid_json", "message is not valid JSON")
    if too_deep(text):
        raise ProtocolError("too_deep", f"message nests arrays/objects deeper than {MAX_DEPTH} levels")
    try:
        message = json.loads(text)
    except RecursionError:      # not reached after the scan above; never let it escape the handler
        raise ProtocolError("too_deep", f"message nests arrays/objects deeper than {MAX_DEPTH} levels") from None
    except (ValueError, TypeError):
        raise ProtocolError("invalid_json", "message is not valid JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("invalid_message", "message must be a JSON object")
    kind = message.get("type")
    if kind not in CLIENT_TYPES:
        raise ProtocolError("unknown_type", f"unknown message type {str(kind)[:40]!r}; "
                                            f"expected one of {', '.join(CLIENT_TYPES)}")
    parsed = {"type": kind}
    if "id" in message:
        if not isinstance(message["id"], (str, int)) or isinstance(message["id"], bool):
            raise ProtocolError("invalid_id", "'id' must be a string or an integer")
        parsed["id"] = message["id"]
    if kind in ("subscribe", "unsubscribe"):
        parsed["channels"] = _channels(message)
    if kind == "filter" or (kind == "subscribe" and "filter" in message):
        try:
            parsed["filter"] = Selection.parse(message.get("filter"))
        except SelectionError as exc:
            raise ProtocolError("invalid_filter", str(exc)) from None
    if kind == "snapshot" and message.get("since_alert_id") is not None:
        since = message["since_alert_id"]
        if not isinstance(since, int) or isinstance(since, bool) or since < 0:
            raise ProtocolError("invalid_since_alert_id", "'since_alert_id' must be a non-negative integer")
        parsed["since_alert_id"] = since
    if kind == "calculate":
        parsed.update(_calculation(message))
    return parsed


def _calculation(message: dict) -> dict:
    """The envelope of a `calculate` request; the parameters themselves are checked by services.finance."""
    calc_id, calc_type, params = message.get("calculation_id"), message.get("calculation_type"), message.get("parameters")
    if not isinstance(calc_id, str) or not 0 < len(calc_id) <= 64:
        raise ProtocolError("invalid_calculation_id", "'calculation_id' must be a string of 1-64 characters")
    if not isinstance(calc_type, str) or not calc_type:
        raise ProtocolError("invalid_calculation_type", "'calculation_type' must be a string (npv, irr, mirr, roi, "
                                                        "sensitivity, monte_carlo)")
    if not isinstance(params, dict):
        raise ProtocolError("invalid_parameters", "'parameters' must be a JSON object")
    return {"calculation_id": calc_id, "calculation_type": calc_type, "parameters": params}


# -- server -> client ---------------------------------------------------------------------------

def welcome(user, tenant: str, frame_interval: float, worker: str) -> dict:
    """The first message on every socket: who the server thinks you are and what you may subscribe to."""
    return {"type": "welcome", "user": user.username, "role": user.role, "tenant": tenant, "channels": list(CHANNELS),
            "frame_interval_ms": int(frame_interval * 1000), "server_time": time.time(), "worker": worker}


def filtered(selection, request_id=None) -> dict:
    """The socket's selection now (None: everything); a `snapshot` of the selection follows."""
    return reply({"type": "filtered", "filter": selection.as_dict() if selection is not None else None}, request_id)


def subscribed(channels, request_id=None) -> dict:
    return reply({"type": "subscribed", "channels": sorted(channels)}, request_id)


def unsubscribed(channels, request_id=None) -> dict:
    return reply({"type": "unsubscribed", "channels": sorted(channels)}, request_id)


def status(live: bool, hub: dict, resync: bool = False) -> dict:
    """The hub (Redis) was lost (`degraded`) or is back (`live`); `resync` says a snapshot follows."""
    out = {"type": "status", "state": "live" if live else "degraded"}
    if resync:
        out["resync"] = True
    out["hub"] = hub
    return out


def session_ended(reason: str) -> dict:
    """Said before close codes 4001/4003, since not every client sees close codes."""
    return {"type": "session_ended", "reason": reason}


def snapshot(live: dict, alerts: list, missed_alerts: list | None = None) -> dict:
    """Everything a client needs to draw the dashboard from scratch: `live` is the live state (kpis,
    points, health, sensors, market, model, stats, maybe `stale`), `alerts` and `missed_alerts` are
    stored alert rows (newest first; oldest first after `since_alert_id`)."""
    snap = {"type": "snapshot", "timestamp": now_iso(), **live, "alerts": [alert_message(a) for a in alerts]}
    if missed_alerts is not None:
        snap["missed_alerts"] = [alert_message(a) for a in missed_alerts]
    return snap


def with_fields(encoded: str, fields: dict) -> str:
    """An encoded JSON object with `fields` added, without decoding it: a snapshot built once for many
    sockets gets each one's own `missed_alerts` and request `id`."""
    if not fields:
        return encoded
    return encoded[:-1] + ("," if encoded != "{}" else "") + encode(fields)[1:]


def market_update(timestamp: str, values: dict, opening: dict) -> dict:
    """Market values now, at the open (the first update of the UTC day) and the change since then."""
    return {"type": "market_update", "timestamp": timestamp, "values": values, "open": opening,
            "change_since_open": {k: round(values[k] - opening.get(k, values[k]), 6) for k in values}}


def reply(message: dict, request_id) -> dict:
    """A reply echoes the request's `id` when it had one."""
    return message if request_id is None else dict(message, id=request_id)


def error(code: str, message: str, request_id=None) -> dict:
    return reply({"type": "error", "code": code, "reason": message}, request_id)


def pong(request_id=None) -> dict:
    return reply({"type": "pong", "timestamp": now_iso(), "server_time": time.time()}, request_id)


def iot_update(event: dict, analysis: dict, received: str | None = None) -> dict:
    """A scored retail event; `received`: when the pipeline admitted it (what the live chart runs on)."""
    return {
        "type": "iot_update",
        "event_id": event["event_id"],
        "timestamp": event["timestamp"],
        "received": received or event["timestamp"],
        "data": {"store": event["store"], "dept": event["dept"], "weekly_sales": event["weekly_sales"],
                 "temperature": event["temperature"], "is_holiday": event["is_holiday"]},
        "analysis": analysis,
    }


def sensor_update(event: dict, analysis: dict, received: str | None = None) -> dict:
    return {
        "type": "sensor_update",
        "event_id": event["event_id"],
        "timestamp": event["timestamp"],
        "received": received or event["timestamp"],
        "asset_id": event["asset_id"],
        "sensor_id": event["sensor_id"],
        "sensor_type": event["sensor_type"],
        "value": event["value"],
        "unit": event["unit"],
        "quality": event["quality"],
        "analysis": analysis,
    }


def calculation_update(calc_id: str, calc_type: str, status: str, progress: int, message: str,
                       result: dict | None = None, field: str | None = None) -> dict:
    out = {"type": "calculation_update", "calculation_id": calc_id, "calculation_type": calc_type, "status": status,
           "progress": progress, "message": message, "timestamp": now_iso()}
    if result is not None:
        out["result"] = result
    if field is not None:
        out["field"] = field
    return out


def notification(level: str, title: str, message: str, **extra) -> dict:
    """A toast; `extra` carries what the browser groups by (an alert digest's `kind`, `count`, `critical`)."""
    return {"type": "notification", "level": level, "title": title, "message": message, "timestamp": now_iso(), **extra}


def alert_message(alert) -> dict:
    """The message sent to clients, from a stored alert row or dict: `alert` for a retail event,
    `alert_triggered` (naming the asset and sensor) for a sensor reading. Both carry the workflow
    status and who/when, so every client can draw the same row (a new alert is `open`)."""
    keys = alert.keys()
    common = {"id": alert["id"], "priority": alert["priority"], "timestamp": alert["timestamp"],
              "message": alert["message"], "risk_score": alert["risk_score"], "why": alert["why"],
              "event_id": alert["event_id"], "status": alert["status"] if "status" in keys else "open",
              **{f: alert[f] if f in keys else None for f in ALERT_WORKFLOW_FIELDS}}
    if "profile" in keys and alert["profile"] == "sensor":
        return {"type": "alert_triggered", **common, "asset_id": alert["asset_id"], "sensor_id": alert["sensor_id"],
                "sensor_type": alert["sensor_type"]}
    return {"type": "alert", **common, "store": alert["store"], "dept": alert["dept"]}


def alert_update(alert: dict) -> dict:
    """An alert's workflow changed: `alert` is the whole alert message as it now stands."""
    return {"type": "alert_update", "timestamp": now_iso(), "alert": alert}


def kpi_update(kpis: dict) -> dict:
    return {"type": "kpi_update", "timestamp": now_iso(), "kpis": kpis}


def health_update(records: list[dict]) -> dict:
    return {"type": "health_update", "timestamp": now_iso(), "entities": records}


def system_update(stats: dict) -> dict:
    return {"type": "system_update", "timestamp": now_iso(), "stats": stats}


def batch_frame(seq: int, encoded_messages: list[str], dropped: int = 0) -> str:
    """A coalesced frame, assembled from already-encoded messages without re-encoding them."""
    return f'{{"type":"batch","seq":{seq},"dropped":{dropped},"messages":[{",".join(encoded_messages)}]}}'
