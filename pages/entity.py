"""An entity's page, the drill-down of the Live and Assets pages: `/entity?store=5&dept=3` (or just a
store or a department) or `/entity?asset_id=pump-01` (`&sensor_id=…` for one sensor).

The same screens as Live (components/retail_view.py) and Assets (components/sensor_view.py), fixed
to the entity: its own socket filter (so its KPIs, points, health and alerts only), its history over
the range (default: the last hour, carrying on live) with anomalies marked, its alerts with
Acknowledge/Resolve, and its health over time (assets/js/pulse_health_chart.js). Not in the
navigation bar; its address is shareable like Live's (`&range=24h`, `&time=event`).
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import explore, sensor_view
from components.page_header import page_header
from components.retail_view import CHANNELS, RetailIds, register, retail_view
from services.web.runtime_access import get_runtime

dash.register_page(__name__, path="/entity", name="Entity", title="Drill-down · Pulseboard", order=90, nav=False)

RETAIL_SOCKET, SENSOR_SOCKET = "entity", "entity-sensor"
RETAIL_IDS, RETAIL_VIEW = RetailIds("entity"), explore.ViewIds("entity")
SENSOR_IDS, SENSOR_VIEW = sensor_view.SensorIds("entity-sensor"), explore.ViewIds("entity-sensor")
DEFAULT_RANGE = "1h"


def title_of(selection: dict) -> str:
    def names(field, one, many):
        values = selection.get(field) or []
        return (f"{one} {values[0]}" if len(values) == 1 else f"{many} {', '.join(map(str, values))}") if values else None
    parts = [names("store", "Store", "Stores"), names("dept", "Dept", "Depts"), names("asset_id", "Asset", "Assets"),
             names("sensor_id", "Sensor", "Sensors")]
    return " · ".join(p for p in parts if p)


def back_link(path: str, selection: dict, label: str) -> dbc.Button:
    query = "&".join(f"{k}={','.join(map(str, v))}" for k, v in selection.items() if v)
    return dbc.Button(f"← {label}", href=f"{path}?{query}", color="link", size="sm", className="px-0")


def browser_config(page: str, selection: dict, view_ids: explore.ViewIds) -> dict:
    config = get_runtime().config
    retail = bool(selection.get("store") or selection.get("dept"))
    single = retail and len(selection.get("store") or []) == 1 and len(selection.get("dept") or []) == 1
    return {"page": page, "path": "/entity", "fixed": selection, "filter_fields": [], "fixed_entity": single,
            "view_ids": {"export": view_ids.export}, "raw_hours": config.history_raw_hours,
            "window_seconds": config.kpi_window_seconds}


def layout(**query):
    view = explore.view_from_query(query, DEFAULT_RANGE)
    sensor = explore.selection_from_query(query, ("asset_id", "sensor_id"))
    if sensor["asset_id"] or sensor["sensor_id"]:
        return dbc.Container([
            back_link("/assets", sensor, "Assets"),
            page_header(title_of(sensor), SENSOR_SOCKET, sensor_view.CHANNELS, SENSOR_IDS.updated, socket_filter=sensor),
            explore.view_bar(SENSOR_VIEW, view),
            *sensor_view.sensor_view(SENSOR_IDS, browser_config("entity-sensor", sensor, SENSOR_VIEW), entity=True),
            dcc.Store(id=SENSOR_VIEW.selection, data={}),
        ], fluid=True)
    retail = explore.selection_from_query(query, ("store", "dept"))
    if not (retail["store"] or retail["dept"]):
        return dbc.Container(dbc.Alert(["Which store, department or asset? Open one from the ",
                                        dcc.Link("Live", href="/"), " or ", dcc.Link("Assets", href="/assets"),
                                        " page."], color="light"), fluid=True)
    return dbc.Container([
        back_link("/", retail, "Live dashboard"),
        page_header(title_of(retail), RETAIL_SOCKET, CHANNELS, RETAIL_IDS.updated, socket_filter=retail),
        explore.view_bar(RETAIL_VIEW, view),
        *retail_view(RETAIL_IDS, browser_config("entity", retail, RETAIL_VIEW), health_chart=True),
        dcc.Store(id=RETAIL_VIEW.selection, data={}),
        html.Div(**{"data-testid": "entity-page"}),
    ], fluid=True)


register(RETAIL_IDS, RETAIL_VIEW, RETAIL_SOCKET, filters=False)
sensor_view.register(SENSOR_IDS, SENSOR_VIEW, SENSOR_SOCKET, filters=False)
