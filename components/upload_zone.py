"""UploadZone: drag-and-drop or pick a CSV, streamed to the server with a progress bar.

The stock dcc.Upload base64-encodes the whole file into one callback, which freezes the tab for
large files. Here the browser sends the File object itself as the body of one XMLHttpRequest to
`POST /api/v1/uploads` (assets/js/pulse_upload.js, which also opens the file picker on click): the browser streams it from disk, progress
events drive the bar, and only the small JSON answer reaches Dash (through the `done` store).
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_wtf.csrf import generate_csrf


class UploadZone(html.Div):
    class ids:
        zone = staticmethod(lambda aio_id: f"{aio_id}-zone")
        progress = staticmethod(lambda aio_id: f"{aio_id}-progress")
        status = staticmethod(lambda aio_id: f"{aio_id}-status")
        done = staticmethod(lambda aio_id: f"{aio_id}-done")

    def __init__(self, aio_id: str, endpoint: str = "/api/v1/uploads", max_mb: float = 200):
        ids = self.ids
        super().__init__([
            html.Div([
                html.Div("Drop a CSV file here, or click to choose one", className="fw-semibold"),
                html.Div(f"Up to {max_mb:g} MB · retail, sensor or any CSV with a date and a number column",
                         className="small text-muted"),
            ], id=ids.zone(aio_id), className="upload-zone", **{"data-endpoint": endpoint, "data-csrf": generate_csrf(),
                                                                 "data-aio": aio_id, "data-testid": "upload-zone"}),
            dbc.Progress(id=ids.progress(aio_id), value=0, className="mt-2 upload-progress", style={"height": "1.2rem"}),
            html.Div(id=ids.status(aio_id), className="small mt-1", **{"data-testid": "upload-status"}),
            dcc.Store(id=ids.done(aio_id)),
        ], className="upload-aio")
