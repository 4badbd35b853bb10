"""The alert workflow over HTTP: `POST /api/alerts/<id>/acknowledge` and `POST /api/alerts/<id>/resolve`.

Both roles may act on their own tenant's alerts; the tenant and the username come from the session,
never from the request, and another tenant's alert id answers exactly like a missing one (404), so
ids reveal nothing across tenants. The request must be JSON (any object, `{}` will do): a cross-site
HTML form cannot send that, which is what keeps these session-authenticated POSTs free of CSRF
tokens like the rest of the JSON API. A change is published as `alert_update` on the tenant's
`alerts` channel, so every open dashboard of the tenant redraws the row (embedded or Redis hub alike).
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from services.storage.alerts import AlertConflict
from services.pipeline.publisher import publish_alert_update
from services.realtime import protocol
from services.web.runtime_access import get_runtime

bp = Blueprint("alerts_api", __name__, url_prefix="/api/alerts")


@bp.post("/<int:alert_id>/acknowledge")
def acknowledge(alert_id: int):
    return _act(alert_id, "acknowledge")


@bp.post("/<int:alert_id>/resolve")
def resolve(alert_id: int):
    return _act(alert_id, "resolve")


def _act(alert_id: int, action: str):
    if not request.is_json or not isinstance(request.get_json(silent=True), dict):
        return jsonify(error="Send a JSON object (Content-Type: application/json), e.g. {}.", code="json_required"), 415
    runtime = get_runtime()
    try:
        alert = getattr(runtime.alerts, action)(current_user.tenant, alert_id, current_user.username)
    except AlertConflict as exc:
        return jsonify(error=str(exc), code="conflict"), 409
    if alert is None:
        return jsonify(error=f"No alert with id {alert_id}.", code="not_found"), 404
    message = protocol.alert_message(alert)
    publish_alert_update(runtime.hub, current_user.tenant, message)
    return jsonify(message)
