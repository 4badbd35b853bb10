"""Producer API keys for admins, over the session: `GET/POST /api/v1/keys`, `DELETE /api/v1/keys/<prefix>`.

The same store as `python -m services.apikeys`; keys belong to the admin's own tenant, a new key
is shown once in the creation answer and never again (only its SHA-256 is kept). Analysts get 403.
"""
from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

bp = Blueprint("keys_api", __name__, url_prefix="/api/v1/keys")


def _store():
    return current_app.extensions["pulseboard"].api_keys


@bp.before_request
def admins_only():
    if not current_user.is_admin:
        return jsonify(error="Only an admin can manage API keys."), 403
    return None


@bp.get("")
def list_keys():
    return jsonify(keys=[asdict(k) for k in _store().list(current_user.tenant)])


@bp.post("")
def create_key():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        return jsonify(error='Send JSON {"name": "..."} naming the producer.', field="name"), 400
    try:
        record, key = _store().create(body["name"], current_user.tenant)
    except ValueError as exc:
        return jsonify(error=str(exc), field="name"), 422
    return jsonify(**asdict(record), key=key, note="Store the key now: it is not shown again."), 201


@bp.delete("/<prefix>")
def revoke_key(prefix: str):
    if not _store().revoke(prefix, current_user.tenant):
        return jsonify(error=f"No API key with prefix {prefix!r}."), 404
    return "", 204
