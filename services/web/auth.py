"""Login, logout and the gate in front of every route.

The login form is plain HTML posted to /login, so it works without JavaScript and from scripts.
The login, logout and upload forms carry a CSRF token (flask-wtf; scripts read one from the login
page or from `GET /api/csrf`); Dash's callbacks and the JSON API are not form posts (SameSite=Lax
cookies and a JSON body a cross-site form cannot send), so they are not made to carry one. Failed
sign-ins are rate limited per username and per client address (flask-limiter; in Redis when
REDIS_URL is set, so all web workers count together): past the limit the login page answers 429
with Retry-After.
`gate()` runs before every request: it lets through only the login page and static assets, checks
the Origin of WebSocket upgrades (the handshake is answered as soon as the route runs, so this
is the last point where a 403 can still be answered instead of a 101), and answers anonymous
requests with a redirect (pages) or a 401 JSON body (API, Dash routes, WebSocket).
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf

from services.security.tickets import KeyPrincipal
from services.web.runtime_access import get_runtime

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, template_folder="templates")

PUBLIC_PATHS = ("/login", "/favicon.ico", "/_favicon.ico", "/healthz", "/api/csrf")
TOKEN_PATHS = ("/metrics",)          # an admin session or the METRICS_TOKEN, checked in the route
API_KEY_PATHS = ("/api/v1/iot", "/api/token", "/api/v1/history", "/api/v1/history/export.csv")   # authenticated (X-API-Key, or a session) in the route itself
PUBLIC_PREFIXES = ("/assets/",)
JSON_PREFIXES = ("/api/", "/_dash", "/_reload-hash", "/_alive", "/ws")
WS_PATH = "/ws"


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
    config = get_runtime().config
    return origin in (config.allowed_origins or config.own_origins)


def gate():
    path = request.path
    if path == WS_PATH:
        return _ws_gate()
    if path in PUBLIC_PATHS or path in API_KEY_PATHS or path in TOKEN_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    if current_user.is_authenticated:
        return None
    if path.startswith(JSON_PREFIXES):
        return jsonify(error="authentication required", login="/login"), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _ws_gate():
    """Before the upgrade (the route answers 101 first thing): Origin, who, and the caps.

    A browser sends its Origin and session cookie; a script may come with a ticket from
    `POST /api/token` instead, and without an Origin (a present Origin must still be allowed).
    """
    origin, ticket = request.headers.get("Origin"), request.args.get("ticket")
    if not (origin_allowed(origin) or (ticket and origin is None)):
        log.warning("websocket from disallowed origin %r refused", origin)
        return jsonify(error="origin not allowed"), 403
    runtime = get_runtime()
    principal = current_user._get_current_object() if current_user.is_authenticated else None
    if ticket:
        principal = runtime.redeem_ticket(ticket)
        if principal is None:
            return jsonify(error="the ticket is invalid, expired or already used; get a new one from POST /api/token",
                           login="/login"), 401
    if principal is None:
        return jsonify(error="authentication required", login="/login"), 401
    refusal = runtime.connections.refusal(principal.id, runtime.config)
    if refusal is not None:
        return jsonify(error=refusal[1]), refusal[0]
    g.ws_principal = principal
    return None


def init_login(app, config) -> None:
    manager = LoginManager()
    # No template reads current_user, so rendering the login page never looks the session up (it
    # works while the database is away).
    manager.init_app(app, add_context_processor=False)
    manager.user_loader(_active_user)
    app.before_request(gate)
    app.config.update(WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None)   # checked where forms post
    csrf = CSRFProtect(app)
    app.extensions["pulseboard_csrf"] = csrf
    limiter = Limiter(get_remote_address, app=app, storage_uri=config.redis_url or "memory://",
                      strategy="moving-window", headers_enabled=True, default_limits=[],
                      swallow_errors=True, in_memory_fallback_enabled=True)   # Redis away: still sign in
    failed = dict(methods=["POST"], deduct_when=lambda response: response.status_code == 401,
                  error_message="Too many failed sign-ins. Wait a moment and try again.")
    view = app.view_functions["auth.login"]     # the limiter checks inside its wrapper: serve the wrapped view
    view = limiter.limit(config.login_rate_limit_ip, key_func=get_remote_address, **failed)(view)
    app.view_functions["auth.login"] = limiter.limit(config.login_rate_limit_user, key_func=_username_key,
                                                     **failed)(view)

    @app.errorhandler(CSRFError)
    def csrf_failed(exc):
        if request.path.startswith("/api/"):
            return jsonify(error="The CSRF token is missing or invalid: reload the page (scripts: GET /api/csrf).",
                           code="csrf"), 400
        return render_template("login.html", error="Your form expired; please try again.",
                               next=safe_next(request.args.get("next"))), 400

    @app.errorhandler(429)
    def too_many(exc):
        if request.path == "/login":
            response = app.make_response((render_template("login.html", error=exc.description,
                                                          next=safe_next(request.args.get("next"))), 429))
            response.headers.setdefault("Retry-After", "60")
            return response
        return jsonify(error=exc.description or "Too many requests."), 429


def _active_user(token):
    """The user of the server-side session the cookie's token names, while that session lives (not
    ended, not idle too long, not past its lifetime) and the account is enabled."""
    return get_runtime().session_user(token)


def _username_key() -> str:
    return "login-user:" + (request.form.get("username") or "").strip().lower()[:64]


def protect_form() -> None:
    """Check the CSRF token of this form post (raises CSRFError -> 400)."""
    current_app.extensions["pulseboard_csrf"].protect()


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    status = 200
    if request.method == "POST":
        protect_form()
        runtime = get_runtime()
        user = runtime.users.authenticate(request.form.get("username", ""), request.form.get("password", ""))
        if user is not None:
            remember = request.form.get("remember") == "on"
            session.clear()          # a fresh session on login: no fixation
            session.permanent = remember     # else the cookie goes when the browser closes
            login_user(runtime.sign_in(user, remember))
            log.info("user %s logged in", user.username)
            return redirect(safe_next(request.form.get("next") or request.args.get("next")))
        error, status = "Invalid username or password.", 401
        log.info("failed login for a username of %d characters", len(request.form.get("username", "")))
    return render_template("login.html", error=error, next=safe_next(request.args.get("next"))), status


@bp.post("/logout")
def logout():
    """This browser's session ends (server-side: a saved copy of the cookie is dead too), and so do
    the dashboards it has open; the user's other sessions go on."""
    protect_form()
    if current_user.is_authenticated:
        get_runtime().sign_out(current_user._get_current_object())
    return _signed_out()


@bp.post("/logout/everywhere")
def logout_everywhere():
    """Every session of this user ends, on every device, and every open dashboard closes."""
    protect_form()
    if current_user.is_authenticated:
        get_runtime().sign_out_everywhere(current_user.id)
    return _signed_out()


def _signed_out():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/api/csrf")
def csrf_token():
    """A CSRF token for scripts: the login form and the upload form need one (keep the cookie it sets)."""
    return jsonify(csrf_token=generate_csrf())


def request_principal():
    """Who a session-or-key route serves: the logged-in user, else the API key in X-API-Key (its
    tenant, analyst rights), else None."""
    if current_user.is_authenticated:
        return current_user._get_current_object()
    if request.headers.get("X-API-Key"):
        record = get_runtime().api_keys.verify(request.headers["X-API-Key"])
        if record is not None:
            return KeyPrincipal(record.prefix, record.name, record.tenant)
    return None


@bp.post("/api/token")
def ws_ticket():
    """A single-use ticket for `/ws?ticket=...`, valid for at most 60 s: for the logged-in user, or
    for the API key in X-API-Key (its tenant, analyst rights)."""
    runtime = get_runtime()
    principal = request_principal()
    if principal is None:
        return jsonify(error="log in, or send a valid X-API-Key", login="/login"), 401
    ticket = runtime.issue_ticket(principal)
    return jsonify(ticket=ticket, expires_in=int(runtime.tickets.seconds), ws_path=f"{WS_PATH}?ticket={ticket}")
