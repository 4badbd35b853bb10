"""The only Flask code outside app.py: login and the request gate (auth), security headers,
monitoring (/healthz, /metrics), one blueprint per API file, and the `/ws` socket handler.
Views reach the process's services through `get_runtime()` (services.web.runtime_access)."""
