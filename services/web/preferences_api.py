"""The signed-in user's own preferences (colour theme, alert toasts):

    GET /api/v1/me/preferences -> {"theme": "system|light|dark", "notify": "all|high|critical|muted"}
    PUT /api/v1/me/preferences  {"theme": "dark"} -> the preferences now stored; 400 naming a bad field

A session only (the gate answers 401 without one); a JSON body, which a cross-site form cannot send, keeps
it free of CSRF tokens like the rest of the JSON API. The navbar's theme and notification menus call it.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from services.security.preferences import PreferenceError
from services.web.runtime_access import get_runtime

bp = Blueprint("preferences_api", __name__, url_prefix="/api/v1/me")


@bp.get("/preferences")
def read():
    return jsonify(get_runtime().users.preferences(current_user.id).as_dict())


@bp.put("/preferences")
def write():
    if not request.is_json:
        return jsonify(error="Send a JSON object (Content-Type: application/json).", code="json_required"), 415
    try:
        stored = get_runtime().users.set_preferences(current_user.id, request.get_json(silent=True))
    except PreferenceError as exc:
        return jsonify(error=str(exc), code="bad_preference"), 400
    return jsonify(stored.as_dict())
