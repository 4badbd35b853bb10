"""Security headers on every response (flask-talisman) and a Content-Security-Policy Dash runs under.

The policy allows only this origin: scripts from our own files plus the exact inline scripts Dash
writes into its page (by SHA-256, from `Dash.csp_hashes()`), styles from our files and inline
(plotly and the data table set styles at runtime), images from ourselves and data:/blob: (plotly's
PNG export), sockets to ourselves. No framing (frame-ancestors 'none' and X-Frame-Options DENY),
nosniff, a strict referrer policy, and HSTS on HTTPS requests. Behind a TLS-terminating proxy set
TRUST_PROXY (how many proxies to trust for X-Forwarded-*) and PREFERRED_URL_SCHEME=https, which also
makes the session cookie Secure.
"""
from __future__ import annotations

from typing import Callable

from flask import Flask
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix


def policy(script_hashes: list[str]) -> dict:
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": "'self'",
        "worker-src": ["'self'", "blob:"],
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def init_security_headers(server: Flask, script_hashes: Callable[[], list[str]], https: bool = False,
                          trust_proxy: int = 0) -> None:
    """`script_hashes()` is asked again on the first request: Dash adds an inline script of its own
    then (the pages router, in a before_request hook registered before ours), after the app was built."""
    if trust_proxy:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=trust_proxy, x_proto=trust_proxy, x_host=trust_proxy)
    talisman = Talisman(server, force_https=False, session_cookie_secure=https, session_cookie_http_only=True,
                        content_security_policy=policy(script_hashes()), frame_options="DENY",
                        referrer_policy="strict-origin-when-cross-origin", strict_transport_security=True,
                        strict_transport_security_max_age=31_536_000, x_content_type_options=True)

    settled = []

    @server.before_request
    def refresh_policy():                  # registered after Dash's own before_request hooks
        if not settled:                    # once: every request after the first sees the same scripts
            talisman.content_security_policy = policy(script_hashes())
            settled.append(True)
