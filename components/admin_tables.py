"""Tables and notices for the Admin page, built from plain lists of dicts (services.tenants.admin output).

Every value goes in as a Dash child, so React renders it as text: a username or key name holding
markup shows as that markup, never as HTML. Times are components.times cells (the browser's zone).
"""
from __future__ import annotations

import json

import dash_bootstrap_components as dbc
from dash import html

from components.times import time_cell


def table(headers: list[str], rows: list[list], testid: str, empty: str) -> html.Div:
    if not rows:
        return html.Div(empty, className="text-muted small", **{"data-testid": testid})
    return html.Div(dbc.Table([html.Thead(html.Tr([html.Th(h) for h in headers])),
                               html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows])],
                              size="sm", hover=True, className="mb-0"), **{"data-testid": testid})


def users_table(users: list[dict]) -> html.Div:
    return table(["User", "Role", "Status", "Created"],
                 [[u["username"], u["role"], "active" if u["active"] else "disabled", time_cell(u["created_at"])]
                  for u in users], "admin-users-table", "No users.")


def keys_table(keys: list[dict]) -> html.Div:
    return table(["Name", "Prefix", "Created", "Status"],
                 [[k["name"], k["prefix"], time_cell(k["created_at"]), "revoked" if k["revoked"] else "active"]
                  for k in keys], "admin-keys-table", "No API keys yet.")


def audit_table(entries: list[dict]) -> html.Div:
    return table(["When", "Who", "Action", "Target", "Detail"],
                 [[time_cell(e["at"]), e["actor"], e["action"], e["target"],
                   json.dumps(e["detail"], sort_keys=True) if e["detail"] else ""] for e in entries],
                 "admin-audit-table", "Nothing changed yet.")


def notice(text: str, ok: bool = True) -> dbc.Alert:
    return html.Div(dbc.Alert(text, color="success" if ok else "danger", className="py-2 small mb-2"),
                    **{"data-testid": "admin-notice"})


def redis_line(status: dict) -> str:
    if status.get("mode") == "embedded":
        return "Redis: not used (embedded mode, one process)."
    if status.get("status") == "ok":
        return f"Redis {status.get('version')}: connected ({status.get('ping_ms')} ms)."
    return f"Redis: unreachable ({status.get('error', '?')})."
