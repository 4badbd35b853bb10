"""UploadZone: drag-and-drop or pick a CSV, streamed to the server with a progress bar.

The stock dcc.Upload base64-encodes the whole file into one callback, which freezes the tab for
large files. Here the browser sends the File object itself as the body of one XMLHttpRequest to
`POST /api/v1/uploads` (assets/js/pulse_upload.js, which also opens the file picker on click): the browser streams it from disk, progress
events drive the bar, and only the small JSON answer reaches Dash (through the `done` store).

The zone is a native <button>: Tab reaches it, Enter and Space open the file picker, and its text is
its accessible name (the size hint is its description). Progress and the result are announced
(the status line is a polite live region); the progress bar is a named role="progressbar" that
pulse_upload.js moves.
"""
from __future__ import annotations

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
            html.Button([
                html.Span("Drop a CSV file here, or choose one", className="d-block fw-semibold"),
                html.Span(f"Up to {max_mb:g} MB · retail, sensor or any CSV with a date and a number column",
                          id=f"{aio_id}-hint", className="d-block small text-body-secondary"),
            ], id=ids.zone(aio_id), type="button", className="upload-zone w-100",
                **{"data-endpoint": endpoint, "data-csrf": generate_csrf(), "data-aio": aio_id,
                   "data-testid": "upload-zone", "aria-describedby": f"{aio_id}-hint"}),
            html.Div(html.Div(id=ids.progress(aio_id), className="progress-bar", role="progressbar", style={"width": "0%"},
                              **{"aria-label": "Upload progress", "aria-valuenow": 0, "aria-valuemin": 0,
                                 "aria-valuemax": 100}),
                     className="progress mt-2 upload-progress", style={"height": "1.2rem"}),
            html.Div(id=ids.status(aio_id), className="small mt-1", role="status",
                     **{"data-testid": "upload-status", "aria-live": "polite"}),
            dcc.Store(id=ids.done(aio_id)),
        ], className="upload-aio")
