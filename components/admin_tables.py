"""Grids and notices for the Admin page, built from plain lists of dicts (services.tenants.admin output).

The users, API keys and audit log are AG Grids (dash-ag-grid): sortable, filterable, exported to CSV by
the button beside each. AG Grid puts every value in the page as text, so a username holding markup shows
as that markup, never as HTML. Times stay ISO in the rows (they sort and export exactly) and the browser
shows them in its own zone (assets/js/pulse_admin.js, on pulseFormat.time). The grid takes its colours
from Bootstrap's variables, so it follows the colour mode (data-bs-theme on <html>) like the rest of the
page. An audit entry's detail reads "role: analyst → admin", never as raw JSON.
"""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import html

from components.formats import MISSING, header, number, percent

# AG Grid's Quartz theme on Bootstrap's colours: CSS variables, resolved by the browser whenever the colour
# mode changes, so a grid drawn in light mode turns dark with the page (nothing re-renders).
GRID_THEME = {"function": (
    "themeQuartz.withParams({backgroundColor: 'var(--bs-body-bg)', foregroundColor: 'var(--bs-body-color)', "
    "headerBackgroundColor: 'var(--bs-tertiary-bg)', headerTextColor: 'var(--bs-emphasis-color)', "
    "borderColor: 'var(--bs-border-color)', accentColor: 'var(--bs-primary)', "
    "oddRowBackgroundColor: 'var(--bs-tertiary-bg)', chromeBackgroundColor: 'var(--bs-tertiary-bg)', "
    "fontFamily: 'inherit', fontSize: 14, headerFontWeight: 600})")}

SHARES = {"anomaly_rate"}           # settings kept as shares, read as percentages


def time_column(field: str) -> dict:
    """A time: sorted and exported as its ISO value (UTC, exact), shown and filtered as the reader's date, time
    and zone."""
    shown = {"function": f"adminTime(params.data.{field})"}
    return {"field": field, "headerName": header(field), "valueFormatter": {"function": "adminTime(params.value)"},
            "useValueFormatterForExport": False, "filter": "agTextColumnFilter", "filterValueGetter": shown,
            "minWidth": 190}


def text_column(field: str, **extra) -> dict:
    return {"field": field, "headerName": header(field), **extra}


def grid(grid_id: str, columns: list[dict], empty: str, file_name: str, page_size: int | None = None) -> dag.AgGrid:
    """An empty grid (the page's callbacks fill its rowData); `page_size` pages a long one (the audit log)."""
    options = {"theme": GRID_THEME, "domLayout": "autoHeight", "enableCellTextSelection": True,
               "ensureDomOrder": True, "localeText": {"noRowsToShow": empty}, "suppressDragLeaveHidesColumns": True}
    if page_size:
        options.update(pagination=True, paginationPageSize=page_size, paginationPageSizeSelector=False)
    return dag.AgGrid(id=grid_id, rowData=[], columnDefs=columns, className="pulse-admin-grid",
                      defaultColDef={"sortable": True, "filter": True, "resizable": True, "flex": 1, "minWidth": 110,
                                     "floatingFilter": False},
                      dashGridOptions=options, csvExportParams={"fileName": file_name}, style={"height": None})


def grid_card(grid_component: dag.AgGrid, export_id: str, title: str, testid: str) -> html.Div:
    """The grid under a one-line toolbar: what it lists, and its CSV export."""
    return html.Div([
        html.Div([html.H2(title, className="h6 mb-0"),
                  dbc.Button("Export CSV", id=export_id, size="sm", color="secondary", outline=True,
                             className="ms-auto")], className="d-flex align-items-center gap-2 mb-2"),
        grid_component], **{"data-testid": testid})


USERS_COLUMNS = [text_column("username"), text_column("role", maxWidth=160), text_column("status", maxWidth=160),
                 time_column("created")]
KEYS_COLUMNS = [text_column("name"), text_column("prefix"), text_column("status", maxWidth=160),
                time_column("created")]
AUDIT_COLUMNS = [{**time_column("time"), "sort": "desc"}, text_column("actor", headerName="Who"),
                 text_column("action"), text_column("target"), text_column("detail", flex=2, minWidth=220)]


def user_rows(users: list[dict]) -> list[dict]:
    return [{"id": u["id"], "username": u["username"], "role": u["role"],
             "status": "active" if u["active"] else "disabled", "created": u["created_at"]} for u in users]


def key_rows(keys: list[dict]) -> list[dict]:
    return [{"name": k["name"], "prefix": k["prefix"], "status": "revoked" if k["revoked"] else "active",
             "created": k["created_at"]} for k in keys]


def audit_rows(entries: list[dict]) -> list[dict]:
    return [{"time": e["at"], "actor": e["actor"], "action": e["action"], "target": e["target"],
             "detail": describe_detail(e["action"], e["detail"])} for e in entries]


def _value(key: str, value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float)):
        return percent(value) if key in SHARES else number(value)
    return MISSING if value is None or value == "" else str(value)


def _label(key: str) -> str:
    return key.replace("_", " ")


def describe_detail(action: str, detail: dict | None) -> str:
    """An audit entry's detail as people read it: "role: analyst → admin", "high: 80 → 70; rate: 5 → 25",
    "name: gateway". A change lists only what changed; nothing to say is an empty string."""
    if not detail:
        return ""
    detail = dict(detail)
    before, after = detail.pop("before", None), detail.pop("after", None)
    parts = []
    if isinstance(before, dict) and isinstance(after, dict):
        parts += [f"{_label(k)}: {_value(k, before.get(k))} → {_value(k, after.get(k))}"
                  for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    elif before is not None or after is not None:
        subject = action.rsplit(".", 1)[-1]          # "user.role" changes the role
        parts.append(f"{_label(subject)}: {_value(subject, before)} → {_value(subject, after)}")
    parts += [f"{_label(k)}: {_value(k, v)}" for k, v in sorted(detail.items())]
    return "; ".join(parts) or "no change"


def notice(text: str, ok: bool = True) -> html.Div:
    return html.Div(dbc.Alert(text, color="success" if ok else "danger", className="py-2 small mb-2"),
                    **{"data-testid": "admin-notice"})


def redis_line(status: dict) -> str:
    if status.get("mode") == "embedded":
        return "Redis: not used (embedded mode, one process)."
    if status.get("status") == "ok":
        return f"Redis {status.get('version')}: connected ({status.get('ping_ms')} ms)."
    return f"Redis: unreachable ({status.get('error', '?')})."
