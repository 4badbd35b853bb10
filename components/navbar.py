"""Top navigation: brand (its dot follows the page's live socket), the pages that exist (from Dash's page
registry; admin-only ones for admins, none registered with nav=False such as an entity's drill-down page),
the notification bell, the theme and notification menus, the user menu and log out (form posts carrying
the session's CSRF token). Below the `lg` breakpoint everything but the brand, the bell and the toggler
folds into a menu, so a phone keeps its screen for the data.

The bell and the preference menus are driven in the browser (assets/js/pulse_toasts.js, pulse_navbar.js):
choosing a theme or a notification level applies at once and is saved with PUT /api/v1/me/preferences.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Input, Output, State, clientside_callback, dcc, html
from flask_wtf.csrf import generate_csrf

from services.security.preferences import NOTIFY, NOTIFY_LABELS, THEME_LABELS, THEMES, Preferences

BELL_ID, BELL_COUNT_ID, BELL_PANEL_ID, BELL_LIST_ID = "nav-bell", "nav-bell-count", "nav-bell-panel", "nav-bell-list"
TOGGLER_ID, COLLAPSE_ID = "nav-toggler", "nav-collapse"


def _post_button(label: str, action: str, class_name: str, button_id: str | None = None) -> html.Form:
    """A button that POSTs to `action` with the CSRF token: signing out must not be a link (a GET)."""
    button = html.Button(label, type="submit", className=class_name, **({"id": button_id} if button_id else {}))
    return html.Form([dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()), button],
                     action=action, method="POST", className="d-inline")


def pref_id(name: str, value: str) -> dict:
    return {"type": "pref", "name": name, "value": value}


def _choices(name: str, values, labels: dict, chosen: str) -> list:
    return [dbc.DropdownMenuItem(labels[v], id=pref_id(name, v), active=v == chosen) for v in values]


def _bell() -> html.Div:
    return html.Div([
        html.Button([html.Img(src=dash.get_asset_url("icons/bell.svg"), alt="", className="bell-icon"),
                     html.Span(id=BELL_COUNT_ID, className="badge rounded-pill bg-danger bell-count", hidden=True,
                               **{"data-testid": "bell-count"})],
                    id=BELL_ID, type="button", className="btn btn-link nav-bell", title="Notifications",
                    **{"aria-label": "Notifications, none unread", "aria-expanded": "false",
                       "aria-controls": BELL_PANEL_ID, "data-testid": "bell"}),
        html.Div([html.Div([html.Strong("Notifications"),
                            html.A("Alerts", href="/#alerts", className="small")],
                           className="d-flex justify-content-between align-items-center mb-2"),
                  html.Ul(id=BELL_LIST_ID,
                          className="list-unstyled mb-0 bell-list")],
                 id=BELL_PANEL_ID, className="bell-panel shadow", hidden=True, role="region",
                 **{"aria-label": "Recent notifications", "data-testid": "bell-panel"}),
    ], className="bell-wrap")


def navbar(username: str | None, role: str | None, prefs: Preferences | None = None) -> dbc.Navbar:
    prefs = prefs or Preferences()
    links = [dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
             for page in dash.page_registry.values()
             if page.get("nav", True) and (role == "admin" or not page.get("admin_only"))]
    user, bell = [], []
    if username:
        bell = [_bell()]
        user = [
            dbc.DropdownMenu(_choices("theme", THEMES, THEME_LABELS, prefs.theme), label="Theme", nav=True,
                             in_navbar=True, align_end=True, toggle_class_name="text-light small", id="nav-theme-menu",
                             className="me-1"),
            dbc.DropdownMenu([
                dbc.DropdownMenuItem(f"Signed in as {username} ({role})", header=True),
                dbc.DropdownMenuItem("Pop-up notifications", header=True),
                *_choices("notify", NOTIFY, NOTIFY_LABELS, prefs.notify),
                dbc.DropdownMenuItem(divider=True),
                html.Div(_post_button("Sign out everywhere", "/logout/everywhere", "dropdown-item",
                                      "nav-sign-out-everywhere"),
                         title="End every session of yours, on every device"),
            ], label=[html.Span(username, className="fw-semibold"), f" · {role}"], nav=True, in_navbar=True,
                align_end=True, toggle_class_name="text-light small", className="me-2", id="nav-user-menu"),
            _post_button("Log out", "/logout", "btn btn-outline-light btn-sm"),
        ]
    return dbc.Navbar(dbc.Container([
        dbc.NavbarBrand([html.Span(className="brand-dot", title="Live data status"), " Pulseboard"], href="/"),
        html.Div([*bell, html.Button(html.Span(className="navbar-toggler-icon"), id=TOGGLER_ID, n_clicks=0,
                                 type="button", className="navbar-toggler ms-1",
                                 **{"aria-label": "Menu", "aria-controls": COLLAPSE_ID, "aria-expanded": "false"})],
                 className="d-flex align-items-center order-lg-last ms-auto ms-lg-0"),
        dbc.Collapse([dbc.Nav(links, navbar=True, className="me-auto"),
                      html.Div(user, className="d-flex flex-wrap align-items-center gap-1 nav-user")],
                     id=COLLAPSE_ID, navbar=True, is_open=False),
        dcc.Store(id="nav-prefs", data=prefs.as_dict()),
    ], fluid=True), color="dark", dark=True, expand="lg", className="mb-3", id="navbar")


clientside_callback(
    "function (n, open) { var next = n ? !open : open; return [next, next ? 'true' : 'false']; }",
    Output(COLLAPSE_ID, "is_open"), Output(TOGGLER_ID, "aria-expanded"), Input(TOGGLER_ID, "n_clicks"),
    State(COLLAPSE_ID, "is_open"), prevent_initial_call=True)

clientside_callback(
    ClientsideFunction("pulse_navbar", "choose"),
    Output(pref_id(ALL, ALL), "active"), Output("nav-prefs", "data"),
    Input(pref_id(ALL, ALL), "n_clicks"), State(pref_id(ALL, ALL), "id"), State("nav-prefs", "data"),
    prevent_initial_call=True)
