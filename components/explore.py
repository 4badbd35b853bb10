"""The view bar of the explorable pages (Live, Assets, an entity's page): which entities, which time range.

- Entity filters: stores and departments (Live) or assets and sensors (Assets), multi-select and
  searchable, labelled "Store 5"; typing a number offers that store even when it is not listed yet.
- Time range: Live (rolling) or 15 min / 1 h / 24 h / 7 d up to now, or a custom range (typed in the
  browser's zone; an empty "to" means up to now); received or event time; Pause/Resume of the live
  chart, Refresh, and an "Export CSV" link to the history of the view.

The view lives in the page's address (`?store=5,7&dept=3&range=1h&time=event`, `range=custom&from=…&to=…`):
`view_from_query` reads it for layout(**query), the browser rewrites it as the view changes
(assets/js/pulse_history.js). All the behaviour is clientside; this module only lays the controls out.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

RANGES = (("live", "Live"), ("15m", "15 min"), ("1h", "1 h"), ("24h", "24 h"), ("7d", "7 d"), ("custom", "Custom"))
CLOCKS = ("received", "event")
MAX_VALUES = 200                       # like the API: a URL of 200 stores is a choice, 10,000 a mistake
# When no store has been seen yet: the Walmart sales data the retail profile follows has 45 stores and
# department numbers up to 99 (the built-in simulator uses stores 1-10 and departments 1-8).
STORE_RANGE, DEPT_RANGE = range(1, 46), range(1, 100)
LABELS = {"store": "Store", "dept": "Dept", "asset_id": "Asset", "sensor_id": "Sensor"}


class PrefixedIds:
    """The component ids of one page's part: `<prefix>-<PART><name>` for each of NAMES (`_` as `-`), so
    two pages may show the same screen side by side in the app without two components sharing an id."""

    NAMES: tuple[str, ...] = ()
    PART = ""

    def __init__(self, prefix: str):
        self.prefix = prefix
        for name in self.NAMES:
            setattr(self, name, f"{prefix}-{self.PART}{name.strip('_').replace('_', '-')}")

    def for_browser(self, *leave_out: str) -> dict:
        return {name: getattr(self, name) for name in self.NAMES if name not in leave_out}


class ViewIds(PrefixedIds):
    """The ids of one page's view bar: `<prefix>-view-first` (the first entity filter), `-view-range`, ..."""

    NAMES = ("selection", "first", "second", "range", "custom", "from_", "to", "apply", "clock", "pause", "refresh",
             "export", "error")
    PART = "view-"


def _values(query: dict, name: str) -> list[str]:
    raw = query.get(name)
    items = raw if isinstance(raw, list) else [raw] if raw else []
    return [v.strip() for item in items for v in str(item).split(",") if v.strip()][:MAX_VALUES]


def selection_from_query(query: dict, fields: tuple[str, str]) -> dict:
    """{"store": [5, 7], "dept": [3]} (ints) or {"asset_id": [...], "sensor_id": [...]} (names) from the
    query; what is not a positive number or a name of 1-200 characters is left out."""
    out = {}
    for name in fields:
        values = _values(query, name)
        if name in ("store", "dept"):
            out[name] = sorted({int(v) for v in values if v.isdigit() and 0 < int(v) < 2**31})
        else:
            out[name] = sorted({v for v in values if len(v) <= 200})
    return out


def view_from_query(query: dict, default_range: str = "live") -> dict:
    """{"range", "from", "to", "clock"}: a custom range keeps its ISO times as given (the browser checks them)."""
    wanted = query.get("range") if isinstance(query.get("range"), str) else None
    ranges = dict(RANGES)
    view = {"range": wanted if wanted in ranges else default_range, "from": None, "to": None,
            "clock": "event" if query.get("time") == "event" else "received"}
    if view["range"] == "custom":
        view["from"] = (_values(query, "from") or [None])[0]
        view["to"] = (_values(query, "to") or [None])[0]
        if not view["from"]:
            view["range"] = default_range
    return view


def entity_options(name: str, known, chosen=()) -> list[dict]:
    """Options labelled "Store 5" (sorted, numbers as numbers), the chosen ones always among them."""
    values = sorted(set(known) | set(chosen), key=lambda v: (isinstance(v, str), v))
    return [{"label": f"{LABELS[name]} {v}", "value": v} for v in values]


def _filter(control_id, name: str, options: list[dict], value: list, placeholder: str):
    return html.Div([
        dbc.Label(f"{LABELS[name]}s", html_for=control_id, className="view-label"),
        dcc.Dropdown(id=control_id, options=options, value=value, multi=True, searchable=True,
                     placeholder=placeholder, className="view-filter", maxHeight=260),
    ], className="view-field view-field-filter", **{"data-testid": f"filter-{name}"})


def view_bar(ids: ViewIds, view: dict, filters: list[tuple[str, list[dict], list]] | None = None,
             export_label: str = "Export CSV") -> dbc.Card:
    """`filters`: (field name, options, chosen values) for the two entity filters, or None (a page of
    one entity)."""
    fields = []
    for control_id, (name, options, value) in zip((ids.first, ids.second), filters or []):
        fields.append(_filter(control_id, name, options, value, f"All {LABELS[name].lower()}s"))
    fields.append(html.Div([
        html.Span("Time range", className="view-label d-block", id=f"{ids.range}-label"),
        html.Div(dbc.RadioItems(id=ids.range, value=view["range"], options=[{"label": t, "value": v} for v, t in RANGES],
                                inline=True, className="btn-group btn-group-sm view-range", inputClassName="btn-check",
                                labelClassName="btn btn-sm btn-outline-primary", labelCheckedClassName="active"),
                 role="radiogroup", **{"aria-labelledby": f"{ids.range}-label"}),
    ], className="view-field", **{"data-testid": "view-range"}))
    fields.append(html.Div([
        html.Span("Options", className="view-label d-block visually-hidden"),
        html.Div([
            dbc.Switch(id=ids.clock, label="Event time", value=view["clock"] == "event", className="mb-0 me-2"),
            dbc.Button("Pause", id=ids.pause, color="secondary", outline=True, size="sm"),
            dbc.Button("Refresh", id=ids.refresh, color="secondary", outline=True, size="sm"),
            html.A(export_label, id=ids.export, href="/api/v1/history/export.csv", download="",
                   className="btn btn-sm btn-outline-primary", role="button", **{"data-export": "1",
                                                                                 "data-testid": "view-export"}),
        ], className="d-flex flex-wrap align-items-center gap-2"),
    ], className="view-field view-field-actions"))
    custom = dbc.Collapse(html.Div([
        html.Div([dbc.Label("From", html_for=ids.from_, className="view-label"),
                  dbc.Input(id=ids.from_, size="sm", placeholder="2026-12-01 08:00", debounce=True,
                            value=view["from"] or "")], className="view-field"),
        html.Div([dbc.Label("To (empty: now)", html_for=ids.to, className="view-label"),
                  dbc.Input(id=ids.to, size="sm", placeholder="now", debounce=True, value=view["to"] or "")],
                 className="view-field"),
        html.Div(dbc.Button("Apply", id=ids.apply, color="primary", size="sm"), className="view-field align-self-end"),
        html.Div(id=ids.error, className="text-danger small align-self-end", role="status",
                 **{"data-testid": "view-error"}),
    ], className="d-flex flex-wrap gap-3 pt-2"), id=ids.custom, is_open=view["range"] == "custom")
    return dbc.Card(dbc.CardBody([html.Div(fields, className="view-bar", **{"data-testid": "view-bar"}), custom],
                                 className="py-2"), className="mb-3 view-card")


def register_view(ids: ViewIds, render_config_id: str, socket_config, chart_id: str, filters: bool) -> None:
    """The view bar's clientside callbacks (assets/js/pulse_view.js): the filters make the selection,
    the selection and the range make the view the page's renderer applies (address, socket filter,
    history), Pause holds the live chart. Called once per page module."""
    if filters:
        clientside_callback(ClientsideFunction("pulse_view", "selection"), Output(ids.selection, "data"),
                            Input(ids.first, "value"), Input(ids.second, "value"), State(render_config_id, "data"),
                            prevent_initial_call=True)
        for control in (ids.first, ids.second):
            clientside_callback(ClientsideFunction("pulse_view", "options"), Output(control, "options"),
                                Input(control, "search_value"), State(control, "options"), State(control, "id"),
                                State(render_config_id, "data"), prevent_initial_call=True)
    clientside_callback(
        ClientsideFunction("pulse_view", "apply"),
        Output(ids.custom, "is_open"), Output(ids.error, "children"), Output(ids.from_, "value"), Output(ids.to, "value"),
        Input(ids.selection, "data"), Input(ids.range, "value"), Input(ids.clock, "value"), Input(ids.apply, "n_clicks"),
        Input(ids.refresh, "n_clicks"),
        State(ids.from_, "value"), State(ids.to, "value"), State(render_config_id, "data"), State(socket_config, "data"),
        State(chart_id, "figure"),
    )
    clientside_callback(ClientsideFunction("pulse_view", "pause"), Output(ids.pause, "children"),
                        Input(ids.pause, "n_clicks"), State(render_config_id, "data"), prevent_initial_call=True)
