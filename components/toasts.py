"""The toast area: where notifications (calculation finished, upload ready, new alerts) pop up on any page.

It sits in the app shell, so every page has it. The toasts themselves are added and dismissed in
the browser (assets/js/pulse_toasts.js) from `notification` messages that the page's LiveSocket
receives on the `notifications` channel: no server round trip per toast.
"""
from __future__ import annotations

from dash import html

TOAST_AREA_ID = "pulse-toasts"


def toast_area() -> html.Div:
    return html.Div(id=TOAST_AREA_ID, className="toast-area", role="status", **{"aria-live": "polite",
                                                                                 "data-testid": "toasts"})
