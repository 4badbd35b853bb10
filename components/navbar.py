"""Top navigation: brand, the pages that exist (from Dash's page registry; admin-only ones for admins), the user and log out
(a form post carrying the session's CSRF token)."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_wtf.csrf import generate_csrf


def navbar(username: str | None, role: str | None) -> dbc.Navbar:
    links = [dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
             for page in dash.page_registry.values() if role == "admin" or not page.get("admin_only")]
    user = []
    if username:
        user = [
            html.Span([html.Span(username, className="fw-semibold"), f" · {role}"],
                      className="navbar-text text-light me-3 small"),
            html.Form([dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
                       html.Button("Log out", type="submit", className="btn btn-outline-light btn-sm")],
                      action="/logout", method="POST", className="d-inline"),
        ]
    return dbc.Navbar(dbc.Container([
        dbc.NavbarBrand([html.Span(className="brand-dot"), " Pulseboard"], href="/"),
        dbc.Nav(links, navbar=True, className="me-auto"),
        html.Div(user, className="d-flex align-items-center"),
    ], fluid=True), color="dark", dark=True, className="mb-3")
