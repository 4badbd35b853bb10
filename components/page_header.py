"""The row at the top of every live page: the title, the LiveSocket (its status badge) and, on pages
that have one, a muted "updated" line that the page's clientside renderer fills in.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components.live_socket import LiveSocket

WAITING = "waiting for the first snapshot…"


def page_header(title, socket_id: str, channels: list[str], updated_id: str | None = None,
                waiting: str = WAITING, spacing: str = "mb-3", socket_filter: dict | None = None,
                **updated_attrs) -> dbc.Row:
    """`updated_attrs` go on the "updated" span (e.g. a `data-testid`); no span without `updated_id`;
    `socket_filter` is the selection the socket subscribes with (a filtered dashboard)."""
    cols = [dbc.Col(html.H1(title, className="h4 mb-0"), width="auto"),
            dbc.Col(LiveSocket(socket_id, channels=channels, filter=socket_filter), width="auto")]
    if updated_id is not None:
        cols.append(dbc.Col(html.Span(waiting, id=updated_id, className="text-body-secondary small", **updated_attrs),
                            width="auto"))
        # Filled by pulse_socket.js when the socket is down or no data came for a while ("Data as of 10:46:07").
        cols.append(dbc.Col(html.Span(className="stale-note badge text-bg-secondary", role="status",
                                      **{"data-testid": "stale-note"}), width="auto"))
    return dbc.Row(cols, className=f"align-items-center g-3 {spacing}")
