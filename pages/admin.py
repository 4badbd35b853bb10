"""Admin: users, API keys, the data source, alert thresholds, and the audit log of every change.

For admins of the current tenant only: analysts get a 403 notice instead of the page, and every
callback goes through services.tenants.admin.AdminService, which refuses an analyst (a callback posted by
hand changes nothing). Each tab is one callback that dispatches on the button pressed and then
re-renders what it changed; the audit tab re-reads the log whenever it is opened.
"""
from __future__ import annotations

from enum import StrEnum

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, html, no_update
from flask import abort
from flask_login import current_user

from components.admin_tables import audit_table, keys_table, notice, redis_line, users_table
from services.tenants.admin import AdminError
from services.security.users import ROLES
from services.web.runtime_access import get_runtime

dash.register_page(__name__, path="/admin", name="Admin", title="Admin · Pulseboard", order=8, admin_only=True)


class Ids(StrEnum):
    tabs = "admin-tabs"
    users = "admin-users"
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
    keys = "admin-keys"
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


def _admin():
    """The admin service, for admins only: a callback posted by an analyst (by hand: the page never
    offers them these controls) answers 403 like the admin API, before anything runs."""
    if not (current_user.is_authenticated and current_user.is_admin):
        abort(403)
    return get_runtime().admin


def _field(label, component, width=3):
    return dbc.Col([dbc.Label(label, className="small mb-1"), component], md=width)


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
        html.Div(id=Ids.users),
    ]))


def keys_tab():
    return dbc.Card(dbc.CardBody([
        html.Div(id=Ids.keys_msg),
        dbc.Row([_field("Producer name", dbc.Input(id=Ids.key_name, placeholder="e.g. store-gateway", size="sm")),
                 _button("Create key", Ids.create_key),
                 _field("Key", dbc.Select(id=Ids.pick_key, options=[], size="sm")),
                 _button("Revoke", Ids.revoke_key, "outline-danger")], className="g-2 mb-3"),
        html.Div(id=Ids.keys),
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
        html.Div(redis_line(source["redis"]), id=Ids.redis, className="small text-muted"),
    ]))


def thresholds_tab(thresholds: dict):
    def number(level, value_id):
        return _field(f"{level} from risk", dbc.Input(id=value_id, type="number", min=1, max=100, step=1,
                                                      value=thresholds[level.lower()], size="sm"), 2)
    return dbc.Card(dbc.CardBody([
        html.Div(id=Ids.thr_msg),
        html.P("Each event gets a risk score from 0 to 100; HIGH and CRITICAL events raise alerts.",
               className="small text-muted"),
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
        html.H2(f"Admin · tenant {current_user.tenant}", className="h4 mb-3"),
        dbc.Tabs([
            dbc.Tab(users_tab(), label="Users", tab_id="users"),
            dbc.Tab(keys_tab(), label="API keys", tab_id="keys"),
            dbc.Tab(source_tab(admin.source(current_user)), label="Data source", tab_id="source"),
            dbc.Tab(thresholds_tab(admin.thresholds(current_user)), label="Alert thresholds", tab_id="thresholds"),
            dbc.Tab(dbc.Card(dbc.CardBody([
                dbc.Button("Refresh", id=Ids.audit_refresh, size="sm", color="secondary", className="mb-2"),
                html.Div(id=Ids.audit)])), label="Audit log", tab_id="audit"),
        ], id=Ids.tabs, active_tab="users"),
    ], fluid=True)


def _attempt(action, done: str):
    """Run an admin action; a notice saying it worked, or why not (nothing is changed then)."""
    try:
        action()
    except AdminError as exc:
        return notice(str(exc), ok=False)
    return notice(done)


@callback(Output(Ids.users_msg, "children"), Output(Ids.users, "children"), Output(Ids.pick_user, "options"),
          Output(Ids.new_password, "value"), Output(Ids.reset_password, "value"),
          Input(Ids.create_user, "n_clicks"), Input(Ids.set_role, "n_clicks"), Input(Ids.disable, "n_clicks"),
          Input(Ids.enable, "n_clicks"), Input(Ids.do_reset, "n_clicks"), Input(Ids.sign_out, "n_clicks"),
          State(Ids.new_name, "value"), State(Ids.new_password, "value"), State(Ids.new_role, "value"),
          State(Ids.pick_user, "value"), State(Ids.pick_role, "value"), State(Ids.reset_password, "value"))
def users_action(_c, _r, _d, _e, _p, _s, name, password, role, picked, new_role, new_password):
    admin, me, pressed = _admin(), current_user, ctx.triggered_id
    actions = {
        Ids.create_user: (lambda: admin.create_user(me, name or "", password or "", role), f"Created user {name}."),
        Ids.set_role: (lambda: admin.set_role(me, picked, new_role), f"Role set to {new_role}."),
        Ids.disable: (lambda: admin.set_active(me, picked, False), "User disabled; their sessions are ending."),
        Ids.enable: (lambda: admin.set_active(me, picked, True), "User enabled."),
        Ids.sign_out: (lambda: admin.sign_out(me, picked), "That user is signed out everywhere."),
        Ids.do_reset: (lambda: admin.reset_password(me, picked, new_password or ""), "Password reset: that user is signed out everywhere."),
    }
    message = _attempt(*actions[pressed]) if pressed in actions else None
    try:
        users = admin.list_users(me)
    except AdminError as exc:
        return notice(str(exc), ok=False), no_update, no_update, "", ""
    options = [{"label": f"{u['username']} ({u['role']}{'' if u['active'] else ', disabled'})", "value": str(u["id"])}
               for u in users]
    return message, users_table(users), options, "", ""


@callback(Output(Ids.keys_msg, "children"), Output(Ids.keys, "children"), Output(Ids.pick_key, "options"),
          Input(Ids.create_key, "n_clicks"), Input(Ids.revoke_key, "n_clicks"),
          State(Ids.key_name, "value"), State(Ids.pick_key, "value"))
def keys_action(_create, _revoke, name, prefix):
    admin, me, message = _admin(), current_user, None
    try:
        if ctx.triggered_id == Ids.create_key:
            record, key = admin.create_key(me, name or "")
            message = notice(f"Key for {record['name']}: {key} — copy it now, it is not shown again.")
        elif ctx.triggered_id == Ids.revoke_key:
            admin.revoke_key(me, prefix or "")
            message = notice(f"Key {prefix} revoked.")
        keys = admin.list_keys(me)
    except AdminError as exc:
        return notice(str(exc), ok=False), no_update, no_update
    options = [{"label": f"{k['name']} ({k['prefix']})", "value": k["prefix"]} for k in keys if not k["revoked"]]
    return message, keys_table(keys), options


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


@callback(Output(Ids.audit, "children"), Input(Ids.tabs, "active_tab"), Input(Ids.audit_refresh, "n_clicks"))
def show_audit(tab, _n):
    if tab != "audit" and ctx.triggered_id != Ids.audit_refresh:
        return no_update
    try:
        return audit_table(_admin().audit_log(current_user, 200))
    except AdminError as exc:
        return notice(str(exc), ok=False)
