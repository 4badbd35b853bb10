"""Offline analysis: upload a CSV (or pick an earlier one), map its columns, filter, read, export.

Uploads stream to `POST /api/v1/uploads` (components/upload_zone.py); everything else is callbacks
that delegate to services.storage.uploads (the user's files) and services.analysis (the numbers), and to
components.analysis_figures (the charts and grids). Until a file is chosen the page explains what to
upload instead of showing empty charts; a file mixing sensor types gets KPIs per type with units.
"""
from __future__ import annotations

import json
import tempfile
from enum import StrEnum
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from flask_login import current_user

from components import analysis_figures as figures
from components.analysis_cards import kpi_text, type_card
from components.confirm import confirm_dialog
from components.formats import MISSING
from components.graph_config import GRAPH_CONFIG
from components.kpi_card import kpi_card
from components.upload_zone import UploadZone
from services.analysis import AnalysisError, Mapping, detail, summarize
from services.analysis.export import export_kpis_csv, export_rows_csv
from services.analysis.filters import apply_filters
from services.simulation.sensor import generate_sensor_csv
from services.storage.uploads import UploadNotFound
from services.web.runtime_access import get_runtime

dash.register_page(__name__, path="/analysis", name="Analysis", title="Analysis · Pulseboard", order=1)

UPLOAD = "analysis-upload"
KPIS = (("average", "Average"), ("max", "Max"), ("min", "Min"), ("volatility", "Volatility"),
        ("holiday_average", "Holiday avg"), ("count", "Rows"), ("span", "Date span"), ("trend", "Trend"))


class Ids(StrEnum):
    select = "analysis-select"
    delete = "analysis-delete"
    confirm = "analysis-confirm"
    confirm_body = "analysis-confirm-body"
    confirm_ok = "analysis-confirm-ok"
    confirm_cancel = "analysis-confirm-cancel"
    message = "analysis-message"
    notes = "analysis-notes"
    mapping = "analysis-mapping"
    map_time = "analysis-map-time"
    map_value = "analysis-map-value"
    map_groups = "analysis-map-groups"
    map_apply = "analysis-map-apply"
    mapping_store = "analysis-mapping-store"
    empty = "analysis-empty"
    sample = "analysis-sample"
    sample_download = "analysis-sample-download"
    results = "analysis-results"
    groups = "analysis-groups"
    date_from = "analysis-date-from"
    date_to = "analysis-date-to"
    kpis = "analysis-kpis"
    trend_basis = "analysis-trend-basis"
    by_type = "analysis-by-type"
    types_store = "analysis-types-store"
    type_anomalies_store = "analysis-type-anomalies-store"
    chart_time = "analysis-chart-time"
    chart_rank = "analysis-chart-rank"
    chart_dist = "analysis-chart-dist"
    chart_anom = "analysis-chart-anom"
    anomalies = "analysis-anomalies"
    segments = "analysis-segments"
    risk = "analysis-risk"
    export_rows = "analysis-export-rows"
    export_kpis = "analysis-export-kpis"
    download = "analysis-download"


GRIDS = ((Ids.anomalies, "Most anomalous rows", "pulseboard-anomalies.csv"),
         (Ids.segments, "Segments", "pulseboard-segments.csv"), (Ids.risk, "Highest risk", "pulseboard-risk.csv"))


def kpi_id(key: str) -> str:
    return f"analysis-kpi-{key}"


def grid_export_id(grid_id: str) -> str:
    return f"{grid_id}-csv"


def store():
    return get_runtime().uploads


def _graph(gid):
    # Responsive: the width follows the card (also when the results appear after being hidden); the
    # height is the figure's own, set on the element with each figure (figures.sized()).
    graph = dcc.Graph(id=gid, figure=figures.empty_figure(), config=GRAPH_CONFIG, responsive=True,
                      style={"height": f"{figures.LAYOUT['height']}px"})
    return dbc.Col(dbc.Card(dcc.Loading(graph, type="circle")), lg=6, className="mb-3")


def _grid_card(grid_id: str, title: str, file_name: str):
    export = html.Button("Export CSV", id=grid_export_id(grid_id), type="button",
                         className="btn btn-sm btn-outline-secondary ms-auto",
                         **{"aria-label": f"Export {title.lower()} as CSV"})
    return dbc.Card([dbc.CardHeader(html.Div([html.H2(title, className="h6 mb-0"), export],
                                             className="d-flex align-items-center gap-2")),
                     dcc.Loading(figures.grid(grid_id, [], [], file_name), type="dot")], className="mb-3")


def _empty_state():
    return html.Div(dbc.Card(dbc.CardBody([
        html.H2("Start with a CSV file", className="h5"),
        html.P("Drop a file on the upload zone, or press it to choose one (Tab to it, then Enter). "
               "Pulseboard recognises these layouts by their header line:"),
        html.Ul([
            html.Li([html.Strong("Retail sales: "), "Store, Dept, Date, Weekly_Sales and, optionally, IsHoliday."]),
            html.Li([html.Strong("Sensor readings: "), "timestamp, asset_id, sensor_id or sensor_type, value and, "
                     "optionally, unit; KPIs and charts come per sensor type, in its unit."]),
            html.Li([html.Strong("Anything else "), "with a date column and a number column: you choose the columns."]),
        ]),
        dbc.Button("Download a sample sensor CSV", id=Ids.sample, color="primary", outline=True, size="sm"),
        html.Span(" then upload it here to see every part of the page.", className="text-body-secondary small"),
        dcc.Download(id=Ids.sample_download),
    ]), className="mb-3"), id=Ids.empty, **{"data-testid": "analysis-empty"})


def _labelled(label: str, control, control_id: str, **col):
    return dbc.Col([dbc.Label(label, html_for=control_id, className="small mb-1"), control], **col)


def layout(**_query):
    mapping = dbc.Row([
        _labelled("Time column", dcc.Dropdown(id=Ids.map_time), Ids.map_time, md=True),
        _labelled("Value column", dcc.Dropdown(id=Ids.map_value), Ids.map_value, md=True),
        _labelled("Group columns", dcc.Dropdown(id=Ids.map_groups, multi=True), Ids.map_groups, md=True),
        dbc.Col(dbc.Button("Apply mapping", id=Ids.map_apply), width="auto", className="align-self-end"),
    ], className="g-2")
    filters = dbc.Row([
        _labelled("Groups", dcc.Dropdown(id=Ids.groups, multi=True, placeholder="All groups"), Ids.groups, lg=5),
        # Native date fields: labelled, typed or picked with the keyboard, cleared with the browser's own control.
        _labelled("From", dbc.Input(id=Ids.date_from, type="date", size="sm"), Ids.date_from, xs=6, lg=2),
        _labelled("To (inclusive)", dbc.Input(id=Ids.date_to, type="date", size="sm"), Ids.date_to, xs=6, lg=2),
        dbc.Col([dbc.Button("Export rows (CSV)", id=Ids.export_rows, color="secondary", size="sm", className="me-2"),
                 dbc.Button("Export KPIs (CSV)", id=Ids.export_kpis, color="secondary", size="sm")],
                lg="auto", className="align-self-end"),
    ], className="mb-3 g-2")
    results = html.Div([
        filters,
        dcc.Download(id=Ids.download),
        # One loader per block: KPIs and the fast charts appear first, the model part when it is ready.
        dcc.Loading(dbc.Row([dbc.Col(kpi_card(kpi_id(k), title), xs=6, md=3, xl=True, className="mb-3")
                             for k, title in KPIS], className="g-3", id=Ids.kpis), type="circle"),
        html.P(id=Ids.trend_basis, className="small text-body-secondary", **{"data-testid": "analysis-trend-basis"}),
        html.Div(id=Ids.by_type, **{"data-testid": "analysis-by-type"}),
        dcc.Store(id=Ids.types_store), dcc.Store(id=Ids.type_anomalies_store),
        dbc.Row([_graph(Ids.chart_time), _graph(Ids.chart_rank)], className="g-3"),
        dbc.Row([_graph(Ids.chart_dist), _graph(Ids.chart_anom)], className="g-3"),
        dbc.Row([dbc.Col(_grid_card(*GRIDS[0]), lg=6), dbc.Col([_grid_card(*GRIDS[1]), _grid_card(*GRIDS[2])], lg=6)],
                className="g-3 mb-4"),
    ], id=Ids.results, hidden=True)
    return dbc.Container([
        html.H1("Offline analysis", className="h4 mb-3"),
        dbc.Row([
            dbc.Col(UploadZone(UPLOAD, max_mb=get_runtime().config.max_upload_mb), lg=6, className="mb-2"),
            dbc.Col([
                dbc.Label("Your uploads", html_for=Ids.select, id=f"{Ids.select}-label"),
                html.Div(dbc.InputGroup([dcc.Dropdown(id=Ids.select, placeholder="Choose an upload…",
                                                      className="flex-grow-1"),
                                         dbc.Button("Delete", id=Ids.delete, color="outline-danger", size="sm")],
                                        className="flex-nowrap"),
                         role="group", **{"aria-labelledby": f"{Ids.select}-label"}),
                html.Div(id=Ids.message, className="mt-2", **{"data-testid": "analysis-message"}),
                html.Div(id=Ids.notes, className="mt-2"),       # how the chosen file was read: its own place
            ], lg=6),
        ], className="mb-3"),
        dbc.Collapse(dbc.Card(dbc.CardBody([
            html.P("Column mapping: which columns hold the time, the value and the groups?", className="mb-2"),
            mapping])), id=Ids.mapping, is_open=False, className="mb-3"),
        dcc.Store(id=Ids.mapping_store),
        _empty_state(),
        results,
        confirm_dialog("analysis", "Delete this upload?", "Delete"),
    ], fluid=True, className="analysis-page")


def _key(upload_id, mapping, groups, start, end) -> str:
    """Which selection a result belongs to: per-type anomalies never join KPIs of another filter."""
    return json.dumps([upload_id, mapping, sorted(map(str, groups or [])), start, end])


def _mapping(data) -> Mapping | None:
    return Mapping(data["time"], tuple(data["values"]), tuple(data["groups"])) if data else None


@callback(Output(Ids.confirm, "is_open"), Output(Ids.confirm_body, "children"),
          Input(Ids.delete, "n_clicks"), Input(Ids.confirm_cancel, "n_clicks"), Input(Ids.confirm_ok, "n_clicks"),
          State(Ids.select, "value"), State(Ids.select, "options"), prevent_initial_call=True)
def ask_before_deleting(_delete, _cancel, _ok, selected, options):
    """Delete asks first, naming the file; Confirm (refresh_uploads deletes) or Cancel closes the dialog."""
    if ctx.triggered_id != Ids.delete or not selected:
        return False, no_update
    label = next((o["label"] for o in options or [] if o["value"] == selected), "this upload")
    return True, f"“{label}” and its analysis are removed for good; other uploads stay."


@callback(Output(Ids.select, "options"), Output(Ids.select, "value"), Output(Ids.message, "children"),
          Input(UploadZone.ids.done(UPLOAD), "data"), Input(Ids.confirm_ok, "n_clicks"), State(Ids.select, "value"))
def refresh_uploads(uploaded, _confirmed, selected):
    message = no_update
    if ctx.triggered_id == Ids.confirm_ok and selected:
        try:
            store().delete(current_user.id, selected, tenant=current_user.tenant)
            message, selected = dbc.Alert("Upload deleted.", color="secondary", className="py-1"), None
        except UploadNotFound:
            message = dbc.Alert("That upload no longer exists.", color="warning", className="py-1")
    if ctx.triggered_id == UploadZone.ids.done(UPLOAD) and uploaded:
        selected = uploaded["id"]
    uploads = store().list(current_user.id, tenant=current_user.tenant)
    options = [{"label": f"{u['name']} · {u['rows']:,} rows · {u['profile']}", "value": u["id"]} for u in uploads]
    return options, selected or (uploads[0]["id"] if uploads else None), message


@callback(Output(Ids.results, "hidden"), Output(Ids.empty, "hidden"), Input(Ids.select, "value"))
def show_results_or_explain(upload_id):
    return not upload_id, bool(upload_id)


@callback(Output(Ids.sample_download, "data"), Input(Ids.sample, "n_clicks"), prevent_initial_call=True)
def download_sample(_clicks):
    """Two weeks of hourly readings from 4 assets x 4 sensor types (the simulator's, with a few anomalies)."""
    with tempfile.TemporaryDirectory() as folder:
        path = generate_sensor_csv(Path(folder) / "sample.csv", assets=4, hours=24 * 14, anomaly_rate=0.01)
        return dict(content=path.read_text(), filename="pulseboard-sample-sensors.csv")


@callback(Output(Ids.mapping, "is_open"), Output(Ids.map_time, "options"), Output(Ids.map_time, "value"),
          Output(Ids.map_value, "options"), Output(Ids.map_value, "value"), Output(Ids.map_groups, "options"),
          Output(Ids.map_groups, "value"), Output(Ids.mapping_store, "data"), Output(Ids.groups, "value"),
          Output(Ids.date_from, "value"), Output(Ids.date_to, "value"), Input(Ids.select, "value"))
def show_mapping(upload_id):
    """A different file: its own mapping, and filters reset (another file's groups mean nothing here)."""
    reset = (None, None, None, None)
    if not upload_id:
        return False, [], None, [], None, [], [], *reset
    try:
        record = store().get(current_user.id, upload_id, tenant=current_user.tenant)
    except UploadNotFound:
        return False, [], None, [], None, [], [], *reset
    columns = list(store().parsed(current_user.id, upload_id, tenant=current_user.tenant).df.columns)
    m = record["mapping"]
    return (record["profile"] == "custom", columns, m["time"], columns, m["values"][0], columns, m["groups"], *reset)


@callback(Output(Ids.mapping_store, "data", allow_duplicate=True), Input(Ids.map_apply, "n_clicks"),
          State(Ids.map_time, "value"), State(Ids.map_value, "value"), State(Ids.map_groups, "value"),
          prevent_initial_call=True)
def apply_mapping(_clicks, time, value, groups):
    return {"time": time, "values": [value] if value else [], "groups": groups or []}


FILTER_INPUTS = (Input(Ids.select, "value"), Input(Ids.mapping_store, "data"), Input(Ids.groups, "value"),
                 Input(Ids.date_from, "value"), Input(Ids.date_to, "value"))


def _charts(*chart_ids) -> list[Output]:
    return [Output(chart, prop) for chart in chart_ids for prop in ("figure", "style")]


@callback(*[Output(kpi_id(k), "children") for k, _ in KPIS], *_charts(Ids.chart_time, Ids.chart_rank, Ids.chart_dist),
          Output(Ids.groups, "options"), Output(Ids.notes, "children"),
          Output(Ids.trend_basis, "children"), Output(Ids.types_store, "data"),
          *FILTER_INPUTS, prevent_initial_call=True)
def show_summary(upload_id, mapping, groups, start, end):
    if not upload_id:
        return *[no_update] * (len(KPIS) + 7), None, no_update, no_update
    try:
        parsed = store().parsed(current_user.id, upload_id, _mapping(mapping), tenant=current_user.tenant)
        report = summarize(parsed, groups, start, end)
    except (AnalysisError, UploadNotFound) as exc:     # dashes, not spinners that never stop
        blank = figures.empty_figure()
        return (*[MISSING] * len(KPIS), *figures.sized(blank, blank, blank), no_update,
                dbc.Alert(str(exc), color="danger", className="py-1"), None, None)
    label = parsed.mapping.values[0]
    group_options = sorted(parsed.df[parsed.mapping.groups[0]].astype(str).unique(), key=lambda v: (len(v), v)) \
        if parsed.mapping.groups else []
    kpis = report["kpis"]
    types = {"key": _key(upload_id, mapping, groups, start, end), "types": kpis["by_type"]}
    return (*[kpi_text(kpis, k) for k, _ in KPIS], *figures.sized(figures.over_time(report, label),
            figures.ranking(report, label), figures.distribution(report, label)), group_options,
            _warnings(parsed.warnings), kpis["trend_basis"], types)


def _warnings(warnings: list[str]):
    """What reading the file changed or left out (values skipped, the date order chosen), said once
    above the results, so a KPI is never silently computed on less than the file."""
    if not warnings:
        return None
    return html.Div(dbc.Alert([html.Strong("Read with notes: "), html.Ul([html.Li(w) for w in warnings],
                                                                          className="mb-0")],
                              color="warning", className="py-2 small"), **{"data-testid": "analysis-warnings"})


@callback(Output(Ids.by_type, "children"), Input(Ids.types_store, "data"), Input(Ids.type_anomalies_store, "data"))
def show_types(types, anomalies):
    """One card per sensor type; its anomaly count once the model part for the same selection is in."""
    if not types or not types["types"]:
        return None
    counts = anomalies["by_type"] if anomalies and anomalies["key"] == types["key"] else None
    return [html.H2("By sensor type", className="h6"),
            dbc.Row([type_card(kind, counts) for kind in types["types"]], className="g-3")]


def _anomaly_rows(report: dict, groups: tuple) -> list[dict]:
    def when(text: str) -> str:
        return text[:16].replace("T", " ").removesuffix(" 00:00")
    return [{"line": a["line"], "time": when(a["time"]), **{g: a[g] for g in groups},
             **({"type": a["type"]} if "type" in a else {}), "value": a["value"], "score": a["score"]}
            for a in report["anomalies"]["top"]]


def _anomaly_columns(groups: tuple, typed: bool) -> list[dict]:
    return [figures.column("line", "number", maxWidth=110), figures.column("time"),
            *[figures.column(g) for g in groups], *([figures.column("type")] if typed else []),
            figures.column("value", "number"), figures.column("score", "number")]


SEGMENT_COLUMNS = [figures.column("description", headerName="Segment", minWidth=280), figures.column("size", "number"),
                   figures.column("mean", "number"), figures.column("volatility_share", "percent",
                                                                    headerName="Volatility"),
                   figures.column("members", minWidth=200)]
RISK_COLUMNS = [figures.column("group", minWidth=230), figures.column("risk", "number"), figures.column("mean", "number"),
                figures.column("volatility_share", "percent", headerName="Volatility"),
                figures.column("anomaly_share", "percent"), figures.column("decline", "percent")]


@callback(*_charts(Ids.chart_anom), Output(Ids.anomalies, "rowData"), Output(Ids.anomalies, "columnDefs"),
          Output(Ids.segments, "rowData"), Output(Ids.segments, "columnDefs"), Output(Ids.risk, "rowData"),
          Output(Ids.risk, "columnDefs"), Output(Ids.type_anomalies_store, "data"), *FILTER_INPUTS,
          prevent_initial_call=True)
def show_detail(upload_id, mapping, groups, start, end):
    try:
        parsed = store().parsed(current_user.id, upload_id, _mapping(mapping), tenant=current_user.tenant)
        report = detail(parsed, groups, start, end)
    except (AnalysisError, UploadNotFound, ValueError):   # the summary callback shows the reason
        return *figures.sized(figures.empty_figure()), [], no_update, [], no_update, [], no_update, None
    group_columns = parsed.mapping.groups
    typed = bool(report["types"])
    segments = [{**s, "members": ", ".join(s["members"][:20]), "volatility_share": s["volatility"] / 100}
                for s in report["segments"]]
    risk = [{**r, "volatility_share": r["volatility"] / 100, "decline": r["decline_pct"] / 100} for r in report["risk"]]
    risk_columns = RISK_COLUMNS[:1] + ([figures.column("type")] if typed else []) + RISK_COLUMNS[1:]
    return (*figures.sized(figures.anomaly_scatter(report, parsed.mapping.values[0], report["types"])),
            _anomaly_rows(report, group_columns), _anomaly_columns(group_columns, typed),
            segments, SEGMENT_COLUMNS, risk, risk_columns,
            {"key": _key(upload_id, mapping, groups, start, end), "by_type": report["anomalies"]["by_type"]})


for _grid_id, _title, _file in GRIDS:
    callback(Output(_grid_id, "exportDataAsCsv"), Input(grid_export_id(_grid_id), "n_clicks"),
             prevent_initial_call=True)(lambda _clicks: True)


@callback(Output(Ids.download, "data"), Input(Ids.export_rows, "n_clicks"), Input(Ids.export_kpis, "n_clicks"),
          State(Ids.select, "value"), State(Ids.mapping_store, "data"), State(Ids.groups, "value"),
          State(Ids.date_from, "value"), State(Ids.date_to, "value"), prevent_initial_call=True)
def export(_rows, _kpis, upload_id, mapping, groups, start, end):
    """Rows as the file wrote them (dates, TRUE/FALSE and "1,234.50" from the kept text), or the KPIs."""
    if not upload_id:
        return no_update
    try:
        parsed = store().parsed(current_user.id, upload_id, _mapping(mapping), tenant=current_user.tenant)
        if ctx.triggered_id == Ids.export_kpis:
            report = summarize(parsed, groups, start, end)
            return dict(content=export_kpis_csv(report["kpis"]), filename="pulseboard-kpis.csv")
    except (AnalysisError, UploadNotFound):
        return no_update       # the analysis callback already shows why
    rows = apply_filters(parsed.df, parsed.mapping, groups, start, end)
    return dict(content=export_rows_csv(rows, parsed.raw), filename="pulseboard-rows.csv")
