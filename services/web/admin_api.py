"""The admin REST API (`/api/v1/admin/...` and `/api/v1/keys`): the Admin page's actions for scripts.

Thin: each route reads JSON, calls services.tenants.admin.AdminService with the logged-in user, and turns an
AdminError into a JSON error with its status (403 for analysts, 404 for another tenant's ids, 409
for a conflict, 422 for a bad value). docs/PROTOCOL.md lists every route.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from services.tenants.admin import AdminError
from services.web.runtime_access import get_runtime

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")


def _admin():
    return get_runtime().admin


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise AdminError(400, "Send a JSON object (Content-Type: application/json).")
    return body


@bp.errorhandler(AdminError)
def admin_error(exc: AdminError):
    payload = {"error": str(exc)}
    if exc.field:
        payload["field"] = exc.field
    return jsonify(payload), exc.status


@bp.get("/admin/users")
def list_users():
    return jsonify(users=_admin().list_users(current_user))


@bp.post("/admin/users")
def create_user():
    body = _body()
    user = _admin().create_user(current_user, _text(body, "username"), _text(body, "password"),
                                body.get("role", "analyst"))
    return jsonify(user), 201


@bp.patch("/admin/users/<int:user_id>")
def change_user(user_id: int):
    body = _body()
    if not {"role", "active", "password"} & body.keys():
        raise AdminError(400, "Send one or more of role, active, password.")
    return jsonify(_admin().update_user(current_user, user_id, body.get("role"), body.get("active"),
                                        body.get("password")))


@bp.post("/admin/users/<int:user_id>/sign-out")
def sign_out_user(user_id: int):
    """End every session of the user, on every web process (their sockets close at once)."""
    _admin().sign_out(current_user, user_id)
    return jsonify(signed_out=user_id)


@bp.get("/keys")
def list_keys():
    return jsonify(keys=_admin().list_keys(current_user))


@bp.post("/keys")
def create_key():
    record, key = _admin().create_key(current_user, _text(_body(), "name"))
    return jsonify(**record, key=key, note="Store the key now: it is not shown again."), 201


@bp.delete("/keys/<prefix>")
def revoke_key(prefix: str):
    _admin().revoke_key(current_user, prefix)
    return "", 204


@bp.route("/admin/source", methods=["GET", "PUT"])
def source():
    if request.method == "GET":
        return jsonify(_admin().source(current_user))
    body = _body()
    return jsonify(_admin().set_source(current_user, body.get("simulator"), body.get("rate"), body.get("anomaly_rate")))


@bp.route("/admin/thresholds", methods=["GET", "PUT"])
def thresholds():
    if request.method == "GET":
        return jsonify(_admin().thresholds(current_user))
    body = _body()
    return jsonify(_admin().set_thresholds(current_user, body.get("medium"), body.get("high"), body.get("critical")))


@bp.get("/admin/audit")
def audit():
    raw = request.args.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise AdminError(400, "limit must be a whole number from 1 to 1000", "limit")
    return jsonify(entries=_admin().audit_log(current_user, int(raw)))


def _text(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise AdminError(422, f"{name} must be a string", name)
    return value
