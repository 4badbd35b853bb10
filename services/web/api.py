"""JSON API for scripts and for the dashboard's fallback when the WebSocket cannot connect.

All routes sit behind the login gate (services.web.auth); the tenant is always the logged-in user's.
Errors are JSON with a fitting status, never an HTML error page.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from services.realtime import protocol
from services.realtime.selection import FIELDS, Selection, SelectionError
from services.web.runtime_access import get_runtime

bp = Blueprint("api", __name__, url_prefix="/api")


def _int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"'{name}' must be an integer") from None
    if not minimum <= value <= maximum:
        raise ValueError(f"'{name}' must be between {minimum} and {maximum}")
    return value


def _selection() -> Selection | None:
    """`store`, `dept`, `asset_id`, `sensor_id` (repeated or comma-separated), like a socket's filter."""
    return Selection.parse({name: [int(v) if name in ("store", "dept") and v.isdigit() else v
                                   for item in request.args.getlist(name) for v in item.split(",") if v]
                            for name in FIELDS if name in request.args})


@bp.get("/live-data")
def live_data():
    """The same snapshot a WebSocket client gets for {"type": "snapshot"}; `store`, `dept`, `asset_id`
    and `sensor_id` (repeated or comma-separated) select entities like a socket's filter."""
    try:
        since = request.args.get("since_alert_id")
        since_id = _int_arg("since_alert_id", 0, 0, 2**62) if since is not None else None
        selection = _selection()
    except (ValueError, SelectionError) as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(get_runtime().snapshot(current_user.tenant, since_id, selection))


@bp.get("/alerts")
def alerts():
    """Alerts newest first, or with after_id those newer than an id, oldest first; optionally only
    one status and/or priority (the store refuses unknown values: 400, never an empty list), and only
    the entities selected like /api/live-data's (a filtered dashboard's status filter)."""
    try:
        limit = _int_arg("limit", 20, 1, 500)
        after_id = _int_arg("after_id", -1, 0, 2**62) if "after_id" in request.args else None
        selection = _selection()
        filters = {"status": request.args.get("status"), "priority": request.args.get("priority"),
                   "entities": selection.as_dict() if selection is not None else None}
        store = get_runtime().alerts
        items = store.after(current_user.tenant, after_id, limit, **filters) if after_id is not None \
            else store.recent(current_user.tenant, limit, **filters)
    except (ValueError, SelectionError) as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(alerts=[protocol.alert_message(a) for a in items])


@bp.route("/<path:unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(unknown):
    """Unknown API paths get a JSON 404 instead of falling through to the Dash page router."""
    return jsonify(error=f"no such API endpoint: /api/{unknown}"), 404


def init_api(app) -> None:
    """Mount the API and make every error under /api/ (and the WebSocket path) a JSON body."""
    app.register_blueprint(bp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith(("/api/", "/ws")):
            if exc.code == 413:
                mb = get_runtime().config.max_upload_mb
                return jsonify(error=f"The upload is larger than the limit of {mb:g} MB (MAX_UPLOAD_MB).",
                               code="file_too_large"), 413
            return jsonify(error=exc.description or exc.name), exc.code
        return exc
