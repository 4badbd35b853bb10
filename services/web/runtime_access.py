"""Where a Flask app keeps its process's `Runtime`: the one place that knows the extension key.

`create_app` stores it with `init_runtime(server, runtime)`; views, pages and components fetch it
with `get_runtime()` (the current app) or `get_runtime(app)` where there is no app context (a
background callback's process, gunicorn's hooks). The key stays `"pulseboard"` (tests read it).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from services.runtime.runtime import Runtime

EXTENSION_KEY = "pulseboard"


def init_runtime(app: Flask, runtime: Runtime) -> None:
    app.extensions[EXTENSION_KEY] = runtime


def get_runtime(app: Flask | None = None) -> Runtime:
    return (current_app if app is None else app).extensions[EXTENSION_KEY]
