"""`POST /api/v1/iot`: producers push one event or a JSON array, authenticated by `X-API-Key`.

The answer is 202 only once every event is in the ingest queue (embedded mode) or durably in the
Redis Stream (distributed mode), never a false success: a full queue or backlog, or Redis being
unreachable, is 503 with Retry-After. A batch is all or
nothing: one invalid event makes it 422 naming the event's index and the field. The tenant comes
from the key, whatever the payload says. Event ids already seen recently are acknowledged but not
queued again, so retries are safe.
"""
from __future__ import annotations

import json

import redis
from flask import Blueprint, jsonify, request

from services.ingest.events import EventError, validate_event
from services.ingest.queue import IngestUnavailable
from services.web.runtime_access import get_runtime

bp = Blueprint("ingest_api", __name__, url_prefix="/api/v1")
MAX_EVENTS_PER_REQUEST = 10_000


def _error(status: int, message: str, **extra):
    return jsonify(error=message, **extra), status


@bp.post("/iot")
def ingest():
    runtime = get_runtime()
    key = runtime.api_keys.verify(request.headers.get("X-API-Key"))
    if key is None:
        runtime.rejects.request("unauthorized")
        return _error(401, "A valid X-API-Key header is required.")
    limit = runtime.config.iot_max_body_kb * 1024
    if (request.content_length or 0) > limit:
        runtime.rejects.request("body_too_large")
        return _error(413, f"The body is larger than {runtime.config.iot_max_body_kb} KB (IOT_MAX_BODY_KB).")
    raw = request.get_data(cache=False)
    if len(raw) > limit:
        runtime.rejects.request("body_too_large")
        return _error(413, f"The body is larger than {runtime.config.iot_max_body_kb} KB (IOT_MAX_BODY_KB).")
    try:
        body = json.loads(raw)
    except ValueError:
        runtime.rejects.request("invalid_json")
        return _error(400, "The body is not valid JSON.")
    events = body if isinstance(body, list) else [body]
    if not events:
        runtime.rejects.request("empty")
        return _error(422, "The array holds no events.")
    if len(events) > MAX_EVENTS_PER_REQUEST:
        runtime.rejects.events("too_many_in_request", len(events))
        return _error(413, f"At most {MAX_EVENTS_PER_REQUEST:,} events per request.")
    checked = []
    for index, event in enumerate(events):
        try:
            checked.append(validate_event(event, tenant=key.tenant))
        except EventError as exc:      # the post is all or nothing: its other events go back too
            runtime.rejects.events(f"{exc.field}: {exc.reason}")
            runtime.rejects.events("with_an_invalid_event", len(events) - 1)
            return _error(422, f"Event {index}: {exc.field} {exc.reason}.", field=exc.field, index=index)
    try:
        allowed, retry = runtime.rate_limits.take(key.prefix, len(checked))
        if not allowed:
            runtime.rejects.events("rate_limited", len(checked))
            response = jsonify(error=f"Rate limit of {runtime.config.iot_rate_limit:g} events/s for this key exceeded.")
            response.headers["Retry-After"] = str(retry)
            return response, 429
        # The checked form (tenant from the key, unknown fields dropped) is what gets queued.
        accepted, duplicates = runtime.ingest.add(checked)
        runtime.rejects.events("duplicate", duplicates)
    except IngestUnavailable as exc:
        runtime.rejects.events(exc.reason, len(checked))
        return _unavailable(str(exc), exc.retry_after)
    except redis.RedisError:
        runtime.rejects.events("unavailable", len(checked))
        return _unavailable("The event store (Redis) is unavailable; retry shortly.", 1)
    return jsonify(accepted=accepted, duplicates=duplicates), 202


def _unavailable(message: str, retry_after: int):
    response = jsonify(error=message)
    response.headers["Retry-After"] = str(retry_after)
    return response, 503
