"""Top navigation: brand, the pages that exist (from Dash's page registry; admin-only ones for admins, none
registered with nav=False such as an entity's drill-down page), the user menu and log out (form posts
carrying the session's CSRF token)."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask_wtf.csrf import generate_csrf


def _post_button(label: str, action: str, class_name: str, button_id: str | None = None) -> html.Form:
    """A button that POSTs to `action` with the CSRF token: signing out must not be a link (a GET)."""
    button = html.Button(label, type="submit", className=class_name, **({"id": button_id} if button_id else {}))
    return html.Form([dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()), button],
                     action=action, method="POST", className="d-inline")


def navbar(username: str | None, role: str | None) -> dbc.Navbar:
    links = [dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
             for page in dash.page_registry.values()
             if page.get("nav", True) and (role == "admin" or not page.get("admin_only"))]
    user = []
    if username:
        user = [
            dbc.DropdownMenu([
                dbc.DropdownMenuItem(f"Signed in as {username} ({role})", header=True),
                html.Div(_post_button("Sign out everywhere", "/logout/everywhere", "dropdown-item",
                                      "nav-sign-out-everywhere"),
                         title="End every session of yours, on every device"),
            ], label=[html.Span(username, className="fw-semibold"), f" · {role}"], nav=True, in_navbar=True,
                align_end=True, toggle_class_name="text-light small", className="me-2", id="nav-user-menu"),
            _post_button("Log out", "/logout", "btn btn-outline-light btn-sm"),
        ]
    return dbc.Navbar(dbc.Container([
        dbc.NavbarBrand([html.Span(className="brand-dot"), " Pulseboard"], href="/"),
        dbc.Nav(links, navbar=True, className="me-auto"),
        html.Div(user, className="d-flex align-items-center"),
    ], fluid=True), color="dark", dark=True, className="mb-3")
