"""Offline analysis: upload a CSV (or pick an earlier one), map its columns, filter, read, export.

Uploads stream to `POST /api/v1/uploads` (components/upload_zone.py); everything else is callbacks
that delegate to services.storage.uploads (the user's files) and services.analysis (the numbers), and to
components.analysis_figures (the charts).
"""
from __future__ import annotations

from enum import StrEnum

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from flask_login import current_user

from components import analysis_figures as figures
from components.kpi_card import kpi_card
from components.upload_zone import UploadZone
from services.analysis import AnalysisError, Mapping, detail, summarize
from services.analysis.export import export_kpis_csv, export_rows_csv
from services.analysis.filters import apply_filters
from services.storage.uploads import UploadNotFound
from services.web.runtime_access import get_runtime

dash.register_page(__name__, path="/analysis", name="Analysis", title="Analysis · Pulseboard", order=1)

UPLOAD = "analysis-upload"
KPIS = (("average", "Average"), ("max", "Max"), ("min", "Min"), ("volatility", "Volatility %"),
        ("holiday_average", "Holiday avg"), ("count", "Rows"), ("span", "Date span"), ("trend", "Trend"))


class Ids(StrEnum):
    select = "analysis-select"
    delete = "analysis-delete"
    message = "analysis-message"
    mapping = "analysis-mapping"
    map_time = "analysis-map-time"
    map_value = "analysis-map-value"
    map_groups = "analysis-map-groups"
    map_apply = "analysis-map-apply"
    mapping_store = "analysis-mapping-store"
    groups = "analysis-groups"
    dates = "analysis-dates"
    results = "analysis-results"
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


def kpi_id(key: str) -> str:
    return f"analysis-kpi-{key}"


def store():
    return get_runtime().uploads


def _graph(gid):
    graph = dcc.Graph(id=gid, figure=figures.empty_figure(), config={"displaylogo": False})
    return dbc.Col(dbc.Card(dcc.Loading(graph, type="circle")), lg=6, className="mb-3")


def layout(**_query):
    return dbc.Container([
        html.H2("Offline analysis", className="h4 mb-3"),
        dbc.Row([
            dbc.Col(UploadZone(UPLOAD, max_mb=get_runtime().config.max_upload_mb), lg=6),
            dbc.Col([
                dbc.Label("Your uploads"),
                dbc.InputGroup([dcc.Dropdown(id=Ids.select, placeholder="Choose an upload…", className="flex-grow-1"),
                                dbc.Button("Delete", id=Ids.delete, color="outline-danger", size="sm")]),
                html.Div(id=Ids.message, className="mt-2", **{"data-testid": "analysis-message"}),
            ], lg=6),
        ], className="mb-3"),
        dbc.Collapse(dbc.Card(dbc.CardBody([
            html.Div("Column mapping: which columns hold the time, the value and the groups?", className="mb-2"),
            dbc.Row([dbc.Col(dcc.Dropdown(id=Ids.map_time, placeholder="Time column")),
                     dbc.Col(dcc.Dropdown(id=Ids.map_value, placeholder="Value column")),
                     dbc.Col(dcc.Dropdown(id=Ids.map_groups, multi=True, placeholder="Group columns")),
                     dbc.Col(dbc.Button("Apply mapping", id=Ids.map_apply), width="auto")]),
        ])), id=Ids.mapping, is_open=False, className="mb-3"),
        dcc.Store(id=Ids.mapping_store),
        dbc.Row([dbc.Col(dcc.Dropdown(id=Ids.groups, multi=True, placeholder="All groups"), lg=6),
                 dbc.Col(dcc.DatePickerRange(id=Ids.dates, clearable=True), lg="auto"),
                 dbc.Col([dbc.Button("Export rows (CSV)", id=Ids.export_rows, color="secondary", size="sm",
                                     className="me-2"),
                          dbc.Button("Export KPIs (CSV)", id=Ids.export_kpis, color="secondary", size="sm")],
                         lg="auto")], className="mb-3 g-2 align-items-center"),
        dcc.Download(id=Ids.download),
        # One loader per block: KPIs and the fast charts appear first, the model part when it is ready.
        dcc.Loading(dbc.Row([dbc.Col(kpi_card(kpi_id(k), title), xs=6, md=3, xl=True, className="mb-3")
                             for k, title in KPIS], className="g-3", id=Ids.results), type="circle"),
        dbc.Row([_graph(Ids.chart_time), _graph(Ids.chart_rank)], className="g-3"),
        dbc.Row([_graph(Ids.chart_dist), _graph(Ids.chart_anom)], className="g-3"),
        dbc.Row([
            dbc.Col(dbc.Card([dbc.CardHeader("Most anomalous rows"),
                              dcc.Loading(dbc.CardBody(id=Ids.anomalies), type="dot")]), lg=6, className="mb-4"),
            dbc.Col([dbc.Card([dbc.CardHeader("Segments"), dcc.Loading(dbc.CardBody(id=Ids.segments), type="dot")],
                              className="mb-3"),
                     dbc.Card([dbc.CardHeader("Highest risk"), dcc.Loading(dbc.CardBody(id=Ids.risk), type="dot")])],
                    lg=6, className="mb-4"),
        ], className="g-3"),
    ], fluid=True)


def _kpi_text(kpis: dict, key: str) -> str:
    if key == "span":
        written = f" (dates read as {kpis['date_format']})" if kpis.get("date_format") else ""
        return [f"{kpis['days']:,} days", html.Div(f"{kpis['first'][:10]} → {kpis['last'][:10]}{written}",
                                                   className="kpi-hint")]
    return _fmt(key, kpis[key])


def _fmt(key, value):
    if value is None:
        return "—"
    if key == "trend":
        return value
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}"


def _table(rows: list[dict], columns: list[str]):
    if not rows:
        return html.Div("Nothing to show.", className="text-muted small")
    return dbc.Table([html.Thead(html.Tr([html.Th(c) for c in columns])),
                      html.Tbody([html.Tr([html.Td(str(r.get(c, ""))) for c in columns]) for r in rows])],
                     size="sm", className="mb-0")


def _mapping(data) -> Mapping | None:
    return Mapping(data["time"], tuple(data["values"]), tuple(data["groups"])) if data else None


@callback(Output(Ids.select, "options"), Output(Ids.select, "value"), Output(Ids.message, "children"),
          Input(UploadZone.ids.done(UPLOAD), "data"), Input(Ids.delete, "n_clicks"), State(Ids.select, "value"))
def refresh_uploads(uploaded, _delete, selected):
    message = no_update
    if ctx.triggered_id == Ids.delete and selected:
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


@callback(Output(Ids.mapping, "is_open"), Output(Ids.map_time, "options"), Output(Ids.map_time, "value"),
          Output(Ids.map_value, "options"), Output(Ids.map_value, "value"), Output(Ids.map_groups, "options"),
          Output(Ids.map_groups, "value"), Output(Ids.mapping_store, "data"), Output(Ids.groups, "value"),
          Output(Ids.dates, "start_date"), Output(Ids.dates, "end_date"), Input(Ids.select, "value"))
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
                 Input(Ids.dates, "start_date"), Input(Ids.dates, "end_date"))


@callback(*[Output(kpi_id(k), "children") for k, _ in KPIS],
          Output(Ids.chart_time, "figure"), Output(Ids.chart_rank, "figure"), Output(Ids.chart_dist, "figure"),
          Output(Ids.groups, "options"), Output(Ids.message, "children", allow_duplicate=True),
          *FILTER_INPUTS, prevent_initial_call=True)
def show_summary(upload_id, mapping, groups, start, end):
    blank = [no_update] * (len(KPIS) + 4)
    if not upload_id:
        return *blank, None
    try:
        parsed = store().parsed(current_user.id, upload_id, _mapping(mapping), tenant=current_user.tenant)
        report = summarize(parsed, groups, start, end)
    except (AnalysisError, UploadNotFound) as exc:
        return *blank, dbc.Alert(str(exc), color="danger", className="py-1")
    label = parsed.mapping.values[0]
    group_options = sorted(parsed.df[parsed.mapping.groups[0]].astype(str).unique(), key=lambda v: (len(v), v)) \
        if parsed.mapping.groups else []
    return (*[_kpi_text(report["kpis"], k) for k, _ in KPIS], figures.over_time(report, label),
            figures.ranking(report, label), figures.distribution(report, label), group_options,
            _warnings(parsed.warnings))


def _warnings(warnings: list[str]):
    """What reading the file changed or left out (values skipped, the date order chosen), said once
    above the results, so a KPI is never silently computed on less than the file."""
    if not warnings:
        return None
    return html.Div(dbc.Alert([html.Strong("Read with notes: "), html.Ul([html.Li(w) for w in warnings],
                                                                          className="mb-0")],
                              color="warning", className="py-2 small"), **{"data-testid": "analysis-warnings"})


@callback(Output(Ids.chart_anom, "figure"), Output(Ids.anomalies, "children"), Output(Ids.segments, "children"),
          Output(Ids.risk, "children"), *FILTER_INPUTS, prevent_initial_call=True)
def show_detail(upload_id, mapping, groups, start, end):
    try:
        parsed = store().parsed(current_user.id, upload_id, _mapping(mapping), tenant=current_user.tenant)
        report = detail(parsed, groups, start, end)
    except (AnalysisError, UploadNotFound, ValueError):   # the summary callback shows the reason
        return figures.empty_figure(), None, None, None
    groups_cols = parsed.mapping.groups
    anomalies = [{"line": a["line"], "time": a["time"][:10], "value": f"{a['value']:,.2f}", "score": a["score"],
                  **{g: a[g] for g in groups_cols}} for a in report["anomalies"]["top"]]
    return (figures.anomaly_scatter(report, parsed.mapping.values[0]),
            _table(anomalies, ["line", "time", *groups_cols, "value", "score"]),
            [html.Div([html.Div(s["description"], className="fw-semibold"),
                       html.Div(", ".join(s["members"][:20]), className="small text-muted")], className="segment-item")
             for s in report["segments"]] or html.Div("No groups to segment.", className="text-muted small"),
            _table(report["risk"], ["group", "risk", "mean", "volatility", "anomaly_share", "decline_pct"]))


@callback(Output(Ids.download, "data"), Input(Ids.export_rows, "n_clicks"), Input(Ids.export_kpis, "n_clicks"),
          State(Ids.select, "value"), State(Ids.mapping_store, "data"), State(Ids.groups, "value"),
          State(Ids.dates, "start_date"), State(Ids.dates, "end_date"), prevent_initial_call=True)
def export(_rows, _kpis, upload_id, mapping, groups, start, end):
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
    return dict(content=export_rows_csv(rows), filename="pulseboard-rows.csv")
