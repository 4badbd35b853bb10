"""Pulseboard's server shell: a Flask factory that mounts auth, the API, the WebSocket and Dash.

`create_app(config)` builds everything and starts nothing; `main()` (what `python app.py` runs)
starts the runtime's threads and serves embedded mode in one process. `gunicorn app:server` gets
its app from `app.server` (built on first access, never at import) and starts each worker's
threads in gunicorn.conf.py's `post_worker_init`. No business logic here: it lives in services/
(pure Python) and pages/ (screens).
"""
from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import dash
from flask import Flask, g
from flask_login import current_user

from components import theme
from components.navbar import navbar
from components.toasts import toast_area
from services.web import (admin_api, alerts_api, analysis_api, api, auth, history_api, ingest_api, monitoring, outage,
                          preferences_api, uploads_api)
from services.config import Config
from services.web.socket import LiveConnection
from services.web.serving import EmbeddedServer, stop_on_sigterm
from services.web.upgrade import close_sockets, websocket_route
from services.web.runtime_access import get_runtime, init_runtime
from services.web.security_headers import init_security_headers
from services.runtime.runtime import Runtime
from services.storage.db import DatabaseUnreadable
from services.storage.secret_key import secret_key
from services.security.tickets import redact_tickets_in_logs

ROOT = Path(__file__).resolve().parent
log = logging.getLogger("pulseboard")


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    server = Flask(__name__, static_folder=None)
    runtime = Runtime(config)
    server.config.update(
        SECRET_KEY=secret_key(config, runtime.db),
        SESSION_COOKIE_HTTPONLY=True,
        PREFERRED_URL_SCHEME="https" if config.https else "http",
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(days=config.session_max_days),   # "keep me signed in" only
        MAX_CONTENT_LENGTH=int(config.max_upload_mb * 2**20) + 2**20,   # + room for multipart framing
    )
    init_runtime(server, runtime)
    admin_existed = runtime.users.find(config.admin_username) is not None
    generated = runtime.users.ensure_admin(config.admin_username, config.admin_password)
    if generated:   # shown once, on the console only; never written to the log
        print(f"\n  Created admin user {config.admin_username!r} with password: {generated}\n"
              f"  (set ADMIN_PASSWORD to choose it yourself; this is the only time it is shown)\n", flush=True)
    elif admin_existed and config.admin_password:     # said, never silently ignored; the password never printed
        print(f"ADMIN_PASSWORD ignored: user {config.admin_username!r} already exists in this database and keeps its "
              f"password (change it with `python -m services.security.users passwd {config.admin_username}`)",
              flush=True)

    server.register_blueprint(auth.bp)
    auth.init_login(server, config)
    api.init_api(server)
    outage.init_outage(server)          # PostgreSQL away: 503 with Retry-After, never a 500
    server.register_blueprint(analysis_api.bp)
    server.register_blueprint(alerts_api.bp)
    server.register_blueprint(history_api.bp)
    server.register_blueprint(uploads_api.bp)
    server.register_blueprint(ingest_api.bp)
    server.register_blueprint(admin_api.bp)
    server.register_blueprint(preferences_api.bp)
    server.register_blueprint(monitoring.bp)
    websocket_route(server, "/ws", lambda: LiveConnection(g.ws_principal, runtime), config)   # g: set by the gate

    app = mount_dash(server, background_manager(server, config))
    init_security_headers(server, app.csp_hashes, https=config.https, trust_proxy=config.trust_proxy)
    return server


def background_manager(server: Flask, config: Config):
    """Where Dash background callbacks (the Monte Carlo page) run: Celery workers on Redis in
    distributed mode (`celery -A app:celery_app worker`), else processes sharing a disk cache in DATA_DIR."""
    if config.redis_url:
        from celery import Celery
        celery_app = Celery("pulseboard", broker=config.redis_url, backend=config.redis_url)
        celery_app.conf.update(broker_connection_retry_on_startup=True, result_expires=3600)
        server.extensions["celery"] = celery_app
        return dash.CeleryManager(celery_app, expire=3600)
    from services.storage.callback_cache import open_callback_cache
    return dash.DiskcacheManager(open_callback_cache(config.data_dir / "callback-cache"), expire=3600)


def mount_dash(server: Flask, manager=None) -> dash.Dash:
    app = dash.Dash(
        __name__, server=server, use_pages=True, pages_folder=str(ROOT / "pages"),
        assets_folder=str(ROOT / "assets"), assets_path_ignore=["^boot$"],   # boot/: in <head> (components/theme.py)
        serve_locally=True, title="Pulseboard", update_title=None,
        external_stylesheets=[], suppress_callback_exceptions=True, background_callback_manager=manager,
    )

    def shell():
        user = current_user if current_user.is_authenticated else None
        return dash.html.Div([
            dash.html.A("Skip to content", href="#main", className="visually-hidden-focusable skip-link"),
            navbar(user.username if user else None, user.role if user else None, theme.current_preferences()),
            dash.html.Main(dash.page_container, id="main", tabIndex="-1"), toast_area()])

    app.layout = shell
    theme.install(app)
    server.extensions["dash_app"] = app
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    redact_tickets_in_logs()
    config = Config.from_env()
    try:   # bind first: a busy port fails before any thread starts and before a first admin's password is made
        httpd = EmbeddedServer(config.host, config.port)
    except OSError as exc:
        raise SystemExit(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
    try:
        server = httpd.app = create_app(config)
    except DatabaseUnreadable as exc:      # one clear line naming the file, no traceback
        raise SystemExit(str(exc)) from None
    runtime = get_runtime(server)
    runtime.start()
    log.info("Pulseboard (embedded mode) on http://%s:%s", config.host, config.port)
    stop_on_sigterm()
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        close_sockets(server)
        runtime.stop()


def __getattr__(name: str):
    """`app.server` for WSGI servers (`gunicorn app:server`) and `app.celery_app` for the Celery worker
    (`celery -A app:celery_app worker`, distributed mode): a new app from the environment on each
    access (each reads it once per process), so importing this module never opens anything."""
    if name == "server":
        return create_app()
    if name == "celery_app":
        server = create_app()
        if "celery" not in server.extensions:
            raise RuntimeError("the Celery worker needs REDIS_URL (it is the broker)")
        return server.extensions["celery"]
    raise AttributeError(f"module 'app' has no attribute {name!r}")


if __name__ == "__main__":
    main()
