"""The stream's history over HTTP (pinned: scripts and the Live page depend on these).

    GET /api/v1/history?from=&to=&store=&dept=&asset_id=&sensor_id=&sensor_type=&bucket=&time=&profile=
        -> {"bucket": "raw|1m|1h|1d", "series": [...], "truncated": bool, "from": ..., "to": ...}
    GET /api/v1/history/export.csv  (same parameters) -> text/csv, streamed

A session or an `X-API-Key` (analyst rights); the tenant is always the caller's own, never a parameter.
Bad parameters answer 400 naming the parameter (services.history.query). docs/PROTOCOL.md lists
the fields of a point.
"""
from __future__ import annotations

import time

import orjson
from flask import Blueprint, Response, jsonify, request, stream_with_context

from services.history.query import QueryError, finest_bucket, parse, raw_may_answer
from services.history.store import iso
from services.web.auth import request_principal
from services.web.runtime_access import get_runtime

bp = Blueprint("history_api", __name__, url_prefix="/api/v1/history")


def _query():
    principal = request_principal()
    if principal is None:
        return None, (jsonify(error="log in, or send a valid X-API-Key", login="/login"), 401)
    runtime = get_runtime()
    if runtime.history is None:
        return None, (jsonify(error="History is switched off on this server (HISTORY=0).", code="history_off"), 404)
    try:
        return (principal.tenant, parse(request.args, time.time())), None
    except QueryError as exc:
        return None, (jsonify(error=str(exc), parameter=exc.parameter, code="bad_parameter"), 400)


@bp.get("")
def series():
    found, error = _query()
    if error:
        return error
    tenant, query = found
    answer = get_runtime().history.series(tenant, query, get_runtime().history_raw_since())
    body = orjson.dumps({**answer, "from": iso(query.start), "to": iso(query.end), "time": query.clock})
    return Response(body, mimetype="application/json")     # orjson: a 2,000-point answer in a millisecond


@bp.get("/export.csv")
def export():
    found, error = _query()
    if error:
        return error
    tenant, query = found
    runtime = get_runtime()
    if query.bucket is None:        # every raw event while they are all kept; beyond that, the finest rollup
        query = query.with_bucket("raw" if raw_may_answer(query, runtime.history_raw_since())
                                  else finest_bucket(query.end - query.start))
    name = f"history-{tenant}-{iso(query.start)[:16]}-{iso(query.end)[:16]}-{query.bucket}.csv".replace(":", "")
    body = stream_with_context(runtime.history.export(tenant, query))
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                         "X-History-Bucket": query.bucket})
