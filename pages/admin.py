"""Admin: users, API keys, the data source, alert thresholds, and the audit log of every change.

For admins of the current tenant only: analysts get a 403 notice instead of the page, and every
callback goes through services.tenants.admin.AdminService, which refuses an analyst (a callback posted by
hand changes nothing). Each tab is one callback that dispatches on the button pressed and then
re-renders what it changed; the audit tab re-reads the log whenever it is opened. Users, keys and the
audit log are grids (components.admin_tables) with a CSV export. What cannot be undone by a click
(disabling a user, revoking a key) asks first in a dialog; a new key is shown once, with a copy button.
"""
from __future__ import annotations

from enum import StrEnum

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import abort
from flask_login import current_user

from components.admin_tables import (AUDIT_COLUMNS, KEYS_COLUMNS, USERS_COLUMNS, audit_rows, grid, grid_card, key_rows,
                                     notice, redis_line, user_rows)
from components.confirm import confirm_dialog as confirm
from components.tabs import register_tab_switch, tab_set
from services.tenants.admin import AdminError
from services.security.users import ROLES
from services.web.runtime_access import get_runtime

dash.register_page(__name__, path="/admin", name="Admin", title="Admin · Pulseboard", order=8, admin_only=True)


class Ids(StrEnum):
    tabs = "admin-tabs"
    users_msg = "admin-users-msg"
    new_name = "admin-new-name"
    new_password = "admin-new-password"
    new_role = "admin-new-role"
    create_user = "admin-create-user"
    pick_user = "admin-pick-user"
    pick_role = "admin-pick-role"
    set_role = "admin-set-role"
    disable = "admin-disable"
    enable = "admin-enable"
    sign_out = "admin-sign-out"
    reset_password = "admin-reset-password"
    do_reset = "admin-do-reset"
    keys_msg = "admin-keys-msg"
    key_name = "admin-key-name"
    create_key = "admin-create-key"
    pick_key = "admin-pick-key"
    revoke_key = "admin-revoke-key"
    source_msg = "admin-source-msg"
    sim_on = "admin-sim-on"
    sim_rate = "admin-sim-rate"
    sim_anomaly = "admin-sim-anomaly"
    save_source = "admin-save-source"
    redis = "admin-redis"
    thr_msg = "admin-thr-msg"
    thr_medium = "admin-thr-medium"
    thr_high = "admin-thr-high"
    thr_critical = "admin-thr-critical"
    save_thresholds = "admin-save-thresholds"
    audit = "admin-audit"
    audit_refresh = "admin-audit-refresh"
    users_grid = "admin-users-grid"
    keys_grid = "admin-keys-grid"
    audit_grid = "admin-audit-grid"
    users_csv = "admin-users-csv"
    keys_csv = "admin-keys-csv"
    audit_csv = "admin-audit-csv"
    new_key_box = "admin-new-key-box"
    new_key = "admin-new-key"
    copy_key = "admin-copy-key"
    copy_status = "admin-copy-status"
    confirm = "admin-confirm"
    confirm_body = "admin-confirm-body"
    confirm_ok = "admin-confirm-ok"
    confirm_cancel = "admin-confirm-cancel"
    pending = "admin-pending"


def _admin():
    """The admin service, for admins only: a callback posted by an analyst (by hand: the page never
    offers them these controls) answers 403 like the admin API, before anything runs."""
    if not (current_user.is_authenticated and current_user.is_admin):
        abort(403)
    return get_runtime().admin


def _field(label, component, width=3):
    """A labelled control: the label names its input (`for`), so a screen reader and a click on it find it."""
    return dbc.Col([dbc.Label(label, html_for=component.id, className="small mb-1"), component], md=width)


def _button(label, button_id, color="primary"):
    return dbc.Col(dbc.Button(label, id=button_id, color=color, size="sm", className="mt-4"), width="auto")


def users_tab():
    roles = [{"label": r, "value": r} for r in ROLES]
    return dbc.Card(dbc.CardBody([
        html.Div(id=Ids.users_msg),
        dbc.Row([_field("New user", dbc.Input(id=Ids.new_name, placeholder="username", size="sm")),
                 _field("Password (8+ characters)", dbc.Input(id=Ids.new_password, type="password", size="sm")),
                 _field("Role", dbc.Select(id=Ids.new_role, options=roles, value="analyst", size="sm"), 2),
                 _button("Create user", Ids.create_user)], className="g-2 mb-3"),
        dbc.Row([_field("User", dbc.Select(id=Ids.pick_user, options=[], size="sm")),
                 _field("Role", dbc.Select(id=Ids.pick_role, options=roles, value="analyst", size="sm"), 2),
                 _button("Set role", Ids.set_role, "secondary"),
                 _button("Disable", Ids.disable, "outline-danger"),
                 _button("Enable", Ids.enable, "outline-success"),
                 _button("Sign out everywhere", Ids.sign_out, "outline-secondary")], className="g-2 mb-2"),
        dbc.Row([_field("New password for that user", dbc.Input(id=Ids.reset_password, type="password", size="sm")),
                 _button("Reset password", Ids.do_reset, "secondary")], className="g-2 mb-3"),
        grid_card(grid(Ids.users_grid, USERS_COLUMNS, "No users.", "users.csv"), Ids.users_csv, "Users",
                  "admin-users-table"),
    ]))


def keys_tab():
    return dbc.Card(dbc.CardBody([
        html.Div(id=Ids.keys_msg),
        html.Div([dbc.Label("New key (shown only now)", html_for=Ids.new_key, className="small mb-1"),
                  dbc.InputGroup([dbc.Input(id=Ids.new_key, readonly=True, size="sm", className="font-monospace"),
                                  dbc.Button("Copy", id=Ids.copy_key, color="primary", size="sm")], size="sm"),
                  html.Span(id=Ids.copy_status, role="status", className="small text-success-emphasis ms-1")],
                 id=Ids.new_key_box, hidden=True, className="mb-3"),
        dbc.Row([_field("Producer name", dbc.Input(id=Ids.key_name, placeholder="e.g. store-gateway", size="sm")),
                 _button("Create key", Ids.create_key),
                 _field("Key", dbc.Select(id=Ids.pick_key, options=[], size="sm")),
                 _button("Revoke", Ids.revoke_key, "outline-danger")], className="g-2 mb-3"),
        grid_card(grid(Ids.keys_grid, KEYS_COLUMNS, "No API keys yet.", "api-keys.csv"), Ids.keys_csv, "API keys",
                  "admin-keys-table"),
    ]))


def source_tab(source: dict):
    return dbc.Card(dbc.CardBody([
        html.Div(id=Ids.source_msg),
        dbc.Switch(id=Ids.sim_on, label="Built-in simulator on", value=source["simulator"], className="mb-2"),
        dbc.Row([_field("Rate (events/s)", dbc.Input(id=Ids.sim_rate, type="number", value=source["rate"],
                                                     min=0.1, step="any", size="sm")),
                 _field("Anomaly share (%)", dbc.Input(id=Ids.sim_anomaly, type="number", step="any", min=0, max=50,
                                                       value=round(source["anomaly_rate"] * 100, 3), size="sm")),
                 _button("Save data source", Ids.save_source)], className="g-2 mb-3"),
        html.Div(redis_line(source["redis"]), id=Ids.redis, className="small text-body-secondary"),
    ]))


def thresholds_tab(thresholds: dict):
    def number(level, value_id):
        return _field(f"{level} from risk", dbc.Input(id=value_id, type="number", min=1, max=100, step=1,
                                                      value=thresholds[level.lower()], size="sm"), 2)
    return dbc.Card(dbc.CardBody([
        html.Div(id=Ids.thr_msg),
        html.P("Each event gets a risk score from 0 to 100; HIGH and CRITICAL events raise alerts.",
               className="small text-body-secondary"),
        dbc.Row([number("MEDIUM", Ids.thr_medium), number("HIGH", Ids.thr_high),
                 number("CRITICAL", Ids.thr_critical), _button("Save thresholds", Ids.save_thresholds)],
                className="g-2"),
    ]))


def layout(**_query):
    if not (current_user.is_authenticated and current_user.is_admin):
        return dbc.Container(html.Div(dbc.Alert("403 · The Admin page is for admins of your tenant. Ask an admin "
                                                "for access.", color="warning"), **{"data-testid": "admin-forbidden"}),
                             fluid=True)
    admin = _admin()
    return dbc.Container([
        html.H1(f"Admin · tenant {current_user.tenant}", className="h4 mb-3"),
        tab_set(Ids.tabs, [
            ("users", "Users", users_tab()),
            ("keys", "API keys", keys_tab()),
            ("source", "Data source", source_tab(admin.source(current_user))),
            ("thresholds", "Alert thresholds", thresholds_tab(admin.thresholds(current_user))),
            ("audit", "Audit log", dbc.Card(dbc.CardBody([
                dbc.Button("Refresh", id=Ids.audit_refresh, size="sm", color="secondary", className="mb-2"),
                html.Div(id=Ids.audit),
                grid_card(grid(Ids.audit_grid, AUDIT_COLUMNS, "Nothing changed yet.", "audit-log.csv", page_size=25),
                          Ids.audit_csv, "Audit log", "admin-audit-table")]))),
        ], active="users"),
        confirm_dialog(),
    ], fluid=True)


def confirm_dialog():
    """One dialog asks before any action that ends something (a user's sessions, a key's use); what it is
    about waits in the `pending` store until Confirm or Cancel."""
    return html.Div([dcc.Store(id=Ids.pending), confirm("admin")])


def _attempt(action, done: str):
    """Run an admin action; a notice saying it worked, or why not (nothing is changed then)."""
    return _attempt_and_tell(action, done)[0]


def _attempt_and_tell(action, done: str):
    """(the notice, whether it worked): a form is emptied only after its action worked."""
    try:
        action()
    except AdminError as exc:
        return notice(str(exc), ok=False), False
    return notice(done), True


def _label_of(options: list[dict] | None, value) -> str | None:
    return next((o["label"] for o in options or [] if o["value"] == value), None)


ASKS = {   # button -> (what the dialog says about the picked item, its Confirm button, the pending action)
    Ids.disable: ("Disable {}? They are signed out everywhere at once and cannot sign in until enabled.",
                  "Disable user", "disable"),
    Ids.revoke_key: ("Revoke key {}? Producers using it are refused from now on; this cannot be undone.",
                     "Revoke key", "revoke"),
}


@callback(Output(Ids.confirm, "is_open"), Output(Ids.confirm_body, "children"), Output(Ids.confirm_ok, "children"),
          Output(Ids.confirm_ok, "disabled"), Output(Ids.pending, "data"),
          Input(Ids.disable, "n_clicks"), Input(Ids.revoke_key, "n_clicks"), Input(Ids.confirm_cancel, "n_clicks"),
          Input(Ids.confirm_ok, "n_clicks"),
          State(Ids.pick_user, "value"), State(Ids.pick_user, "options"), State(Ids.pick_key, "value"),
          State(Ids.pick_key, "options"), prevent_initial_call=True)
def ask_first(_disable, _revoke, _cancel, _ok, user, user_options, key, key_options):
    pressed = ctx.triggered_id
    if pressed not in ASKS:               # Cancel, or Confirm (the action's own callback does it)
        return False, no_update, no_update, no_update, no_update
    question, button, action = ASKS[pressed]
    picked, options = (user, user_options) if pressed == Ids.disable else (key, key_options)
    label = _label_of(options, picked)
    if label is None:
        return True, f"Pick a {'user' if pressed == Ids.disable else 'key'} first.", button, True, None
    return True, question.format(label), button, False, {"action": action, "target": picked}


def _confirmed(pending: dict | None, action: str):
    """The target of a confirmed `action`; any other Confirm is not this callback's business."""
    if not pending or pending.get("action") != action:
        raise PreventUpdate
    return pending["target"]


@callback(Output(Ids.users_msg, "children"), Output(Ids.users_grid, "rowData"), Output(Ids.pick_user, "options"),
          Output(Ids.new_password, "value"), Output(Ids.reset_password, "value"), Output(Ids.new_name, "value"),
          Input(Ids.create_user, "n_clicks"), Input(Ids.set_role, "n_clicks"), Input(Ids.confirm_ok, "n_clicks"),
          Input(Ids.enable, "n_clicks"), Input(Ids.do_reset, "n_clicks"), Input(Ids.sign_out, "n_clicks"),
          State(Ids.new_name, "value"), State(Ids.new_password, "value"), State(Ids.new_role, "value"),
          State(Ids.pick_user, "value"), State(Ids.pick_role, "value"), State(Ids.reset_password, "value"),
          State(Ids.pending, "data"))
def users_action(_c, _r, _d, _e, _p, _s, name, password, role, picked, new_role, new_password, pending):
    admin, me, pressed = _admin(), current_user, ctx.triggered_id
    if pressed == Ids.confirm_ok:
        picked = _confirmed(pending, "disable")
    actions = {
        Ids.create_user: (lambda: admin.create_user(me, name or "", password or "", role), f"Created user {name}."),
        Ids.set_role: (lambda: admin.set_role(me, picked, new_role), f"Role set to {new_role}."),
        Ids.confirm_ok: (lambda: admin.set_active(me, picked, False), "User disabled; their sessions are ending."),
        Ids.enable: (lambda: admin.set_active(me, picked, True), "User enabled."),
        Ids.sign_out: (lambda: admin.sign_out(me, picked), "That user is signed out everywhere."),
        Ids.do_reset: (lambda: admin.reset_password(me, picked, new_password or ""), "Password reset: that user is signed out everywhere."),
    }
    message, worked = _attempt_and_tell(*actions[pressed]) if pressed in actions else (None, False)
    name_after = "" if worked and pressed == Ids.create_user else no_update
    try:
        users = admin.list_users(me)
    except AdminError as exc:
        return notice(str(exc), ok=False), no_update, no_update, "", "", no_update
    options = [{"label": f"{u['username']} ({u['role']}{'' if u['active'] else ', disabled'})", "value": str(u["id"])}
               for u in users]
    return message, user_rows(users), options, "", "", name_after


@callback(Output(Ids.keys_msg, "children"), Output(Ids.keys_grid, "rowData"), Output(Ids.pick_key, "options"),
          Output(Ids.new_key, "value"), Output(Ids.new_key_box, "hidden"), Output(Ids.key_name, "value"),
          Output(Ids.copy_status, "children"),
          Input(Ids.create_key, "n_clicks"), Input(Ids.confirm_ok, "n_clicks"),
          State(Ids.key_name, "value"), State(Ids.pending, "data"))
def keys_action(_create, _confirm, name, pending):
    """A new key is shown once: in the notice and in the read-only field its Copy button copies from."""
    admin, me, message, key, name_after = _admin(), current_user, None, "", no_update
    try:
        if ctx.triggered_id == Ids.create_key:
            record, key = admin.create_key(me, name or "")
            message, name_after = notice(f"Key for {record['name']}: {key} — copy it now, it is not shown again."), ""
        elif ctx.triggered_id == Ids.confirm_ok:
            prefix = _confirmed(pending, "revoke")
            admin.revoke_key(me, prefix or "")
            message = notice(f"Key {prefix} revoked.")
        keys = admin.list_keys(me)
    except AdminError as exc:
        return notice(str(exc), ok=False), no_update, no_update, "", True, no_update, ""
    options = [{"label": f"{k['name']} ({k['prefix']})", "value": k["prefix"]} for k in keys if not k["revoked"]]
    return message, key_rows(keys), options, key, not key, name_after, ""


@callback(Output(Ids.source_msg, "children"), Output(Ids.redis, "children"),
          Input(Ids.save_source, "n_clicks"), State(Ids.sim_on, "value"), State(Ids.sim_rate, "value"),
          State(Ids.sim_anomaly, "value"), prevent_initial_call=True)
def save_source(_n, on, rate, anomaly_percent):
    share = anomaly_percent / 100 if isinstance(anomaly_percent, (int, float)) else anomaly_percent
    message = _attempt(lambda: _admin().set_source(current_user, bool(on), rate, share),
                       f"Simulator {'on' if on else 'off'}; applied within a few seconds.")
    return message, redis_line(_admin().redis_status())


@callback(Output(Ids.thr_msg, "children"), Input(Ids.save_thresholds, "n_clicks"),
          State(Ids.thr_medium, "value"), State(Ids.thr_high, "value"), State(Ids.thr_critical, "value"),
          prevent_initial_call=True)
def save_thresholds(_n, medium, high, critical):
    return _attempt(lambda: _admin().set_thresholds(current_user, medium, high, critical),
                    "Thresholds saved; new events are levelled with them within seconds.")


@callback(Output(Ids.audit, "children"), Output(Ids.audit_grid, "rowData"),
          Input(Ids.tabs, "data"), Input(Ids.audit_refresh, "n_clicks"))
def show_audit(tab, _n):
    if tab != "audit" and ctx.triggered_id != Ids.audit_refresh:
        return no_update, no_update
    try:
        return None, audit_rows(_admin().audit_log(current_user, 200))
    except AdminError as exc:
        return notice(str(exc), ok=False), no_update


TAB_KEYS = ("users", "keys", "source", "thresholds", "audit")
register_tab_switch(Ids.tabs, TAB_KEYS)

for _grid_id, _button_id in ((Ids.users_grid, Ids.users_csv), (Ids.keys_grid, Ids.keys_csv),
                             (Ids.audit_grid, Ids.audit_csv)):
    clientside_callback(ClientsideFunction("pulse_admin", "exportCsv"), Output(_grid_id, "exportDataAsCsv"),
                        Input(_button_id, "n_clicks"), prevent_initial_call=True)

clientside_callback(ClientsideFunction("pulse_admin", "copyKey"),
                    Output(Ids.copy_status, "children", allow_duplicate=True),
                    Input(Ids.copy_key, "n_clicks"), State(Ids.new_key, "value"), State(Ids.new_key, "id"),
                    prevent_initial_call=True)
