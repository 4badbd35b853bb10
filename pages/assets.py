"""Assets: the sensor profile's screen. Health per asset, per-sensor history, the latest reading of every
sensor, sensor alerts with Acknowledge/Resolve.

Explorable like Live (components/explore.py): filter by asset and sensor (on the server: the socket
carries the filter), pick a time range for the history charts, export the view as CSV; the view is
in the address (`/assets?asset_id=pump-01&range=24h`). An asset card or a reading opens that asset's
page (pages/entity.py). The screen itself is components/sensor_view.py.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc
from flask_login import current_user

from components import explore, sensor_view
from components.page_header import page_header
from services.web.runtime_access import get_runtime

dash.register_page(__name__, path="/assets", name="Assets", title="Assets · Pulseboard", order=2)

SOCKET = "assets"
IDS = sensor_view.SensorIds("assets")
VIEW = explore.ViewIds("assets")
FIELDS = ("asset_id", "sensor_id")


def known_sensors() -> dict[str, set]:
    """The assets and sensors the live state has readings of (empty when it cannot be read)."""
    try:
        readings = get_runtime().snapshot(current_user.tenant)["sensors"]
    except Exception:                     # noqa: BLE001 - options are a convenience, never an error page
        readings = []
    return {"asset_id": {r["asset_id"] for r in readings}, "sensor_id": {r["sensor_id"] for r in readings}}


def layout(**query):
    selection = explore.selection_from_query(query, FIELDS)
    view = explore.view_from_query(query)
    known = known_sensors()
    filters = [(name, explore.entity_options(name, known[name], selection[name]), selection[name]) for name in FIELDS]
    config = get_runtime().config
    return dbc.Container([
        page_header("Assets", SOCKET, sensor_view.CHANNELS, IDS.updated, socket_filter=selection),
        explore.view_bar(VIEW, view, filters),
        *sensor_view.sensor_view(IDS, {"page": "assets", "path": "/assets", "fixed": {}, "filter_fields": list(FIELDS),
                                       "view_ids": {"first": VIEW.first, "second": VIEW.second, "export": VIEW.export},
                                       "raw_hours": config.history_raw_hours,
                                       "window_seconds": config.kpi_window_seconds}),
        dcc.Store(id=VIEW.selection, data=selection),
    ], fluid=True)


sensor_view.register(IDS, VIEW, SOCKET, filters=True)
