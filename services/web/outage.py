"""The database unreachable while serving (PostgreSQL stopped or restarting): 503, never a 500 and
never a false success.

Every store call checks a connection out of the pool per use and raises when the server is away;
the request then ends here instead of in a 500. What needs no database goes on: the login page,
/assets/*, /api/csrf, /healthz (which says `failing`, database `unavailable`), and ingest for a
key this process verified shortly before (services.security.apikeys). A signed-in session is
never taken for signed out: its lookup raises, the request gets 503 and the cookie is left alone,
so the same cookie works again once the database is back. The pool pings a connection before
handing it out (services.storage.db), so connections broken by the restart are replaced without
restarting anything.

- JSON routes (/api/, Dash's /_dash-*, /ws, ...): 503 {"error": ..., "code": "database_unavailable"}.
- The login form posted during the outage: the login page again, with the message, 503.
- Other pages: a short plain HTML page, 503.
Each with `Retry-After`. Errors that are not an outage (a bug, a constraint) are not handled here.
"""
from __future__ import annotations

import logging
import time

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout

from services.storage.db import one_line, unavailable
from services.web.auth import JSON_PREFIXES, safe_next

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = "The database is unavailable; try again shortly."
CODE = "database_unavailable"
LOG_EVERY_SECONDS = 10.0
PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unavailable · Pulseboard</title>"
        "</head><body><h1>Pulseboard is briefly unavailable</h1><p>The database cannot be reached right now; "
        "nothing you did is lost. This page will work again shortly: reload it in a few seconds.</p></body></html>")


def init_outage(app: Flask) -> None:
    """Answer database outages with 503 (registered for SQLAlchemy's and psycopg's errors)."""
    logged = [0.0]

    def database_unavailable(exc):
        if not unavailable(exc):
            raise exc                       # not an outage: Flask's usual 500 (and its log line)
        if time.monotonic() - logged[0] >= LOG_EVERY_SECONDS:      # one line per outage, not per request
            logged[0] = time.monotonic()
            log.warning("database unavailable (%s); answering 503", one_line(exc))
        response = app.make_response(_body())
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    for error in (DBAPIError, PoolTimeout, *_psycopg_errors()):
        app.register_error_handler(error, database_unavailable)


def _body():
    if request.path.startswith(JSON_PREFIXES) or request.path in ("/healthz", "/metrics"):
        return jsonify(error=MESSAGE, code=CODE)
    if request.path == "/login":
        try:        # no session lookup: a signed-in browser's cookie would need the database
            return render_template("login.html", error=MESSAGE, next=safe_next(request.args.get("next")))
        except Exception:          # noqa: BLE001 - the plain page is always there
            pass
    return PAGE


def _psycopg_errors() -> tuple:
    try:
        import psycopg
    except ImportError:       # no PostgreSQL driver: SQLAlchemy's own classes cover everything
        return ()
    return psycopg.OperationalError, psycopg.InterfaceError
