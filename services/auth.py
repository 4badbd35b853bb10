"""Login, logout and the gate in front of every route.

The login form is plain HTML posted to /login, so it works without JavaScript and from scripts.
`gate()` runs before every request: it lets through only the login page and static assets, checks
the Origin of WebSocket upgrades (flask-sock completes the handshake before the route runs, so this
is the last point where a 403 can still be answered instead of a 101), and answers anonymous
requests with a redirect (pages) or a 401 JSON body (API, Dash routes, WebSocket).
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, template_folder="templates")

PUBLIC_PATHS = ("/login", "/favicon.ico", "/_favicon.ico", "/healthz")
TOKEN_PATHS = ("/metrics",)          # an admin session or the METRICS_TOKEN, checked in the route
API_KEY_PATHS = ("/api/v1/iot",)     # authenticated by X-API-Key in the route itself
PUBLIC_PREFIXES = ("/assets/",)
JSON_PREFIXES = ("/api/", "/_dash", "/_reload-hash", "/_alive", "/ws")
WS_PATH = "/ws"


def runtime():
    return current_app.extensions["pulseboard"]


def safe_next(target: str | None) -> str:
    """`target` if it is a path inside this app, otherwise "/" (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def origin_allowed(origin: str | None) -> bool:
    """Same-origin, or listed in ALLOWED_ORIGINS (default: the app's own host:port)."""
    if not origin:
        return False
    origin = origin.rstrip("/")
    if origin == request.host_url.rstrip("/"):
        return True
    config = runtime().config
    return origin in (config.allowed_origins or config.own_origins)


def gate():
    path = request.path
    if path == WS_PATH and not origin_allowed(request.headers.get("Origin")):
        log.warning("websocket from disallowed origin %r refused", request.headers.get("Origin"))
        return jsonify(error="origin not allowed"), 403
    if path in PUBLIC_PATHS or path in API_KEY_PATHS or path in TOKEN_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    if current_user.is_authenticated:
        return None
    if path.startswith(JSON_PREFIXES):
        return jsonify(error="authentication required", login="/login"), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_login(app) -> None:
    manager = LoginManager()
    manager.init_app(app)
    manager.user_loader(lambda user_id: runtime().users.get(user_id))
    app.before_request(gate)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    status = 200
    if request.method == "POST":
        user = runtime().users.authenticate(request.form.get("username", ""), request.form.get("password", ""))
        if user is not None:
            session.clear()          # a fresh session on login: no fixation
            login_user(user)
            log.info("user %s logged in", user.username)
            return redirect(safe_next(request.form.get("next") or request.args.get("next")))
        error, status = "Invalid username or password.", 401
        log.info("failed login for a username of %d characters", len(request.form.get("username", "")))
    return render_template("login.html", error=error, next=safe_next(request.args.get("next"))), status


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
