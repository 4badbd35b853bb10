"""ConfirmDialog: one modal that asks before an action that cannot be undone (deleting an upload, disabling a
user, revoking a key). Its ids all start with `prefix` ("<prefix>-confirm", "-confirm-body", "-confirm-ok",
"-confirm-cancel"), so a page names them in its Ids enum and wires Confirm to the action itself: the
action runs only on Confirm, and Cancel, Escape or a click outside change nothing.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc


def confirm_dialog(prefix: str, title: str = "Are you sure?", ok_label: str = "Confirm") -> dbc.Modal:
    dialog = f"{prefix}-confirm"
    return dbc.Modal([dbc.ModalHeader(dbc.ModalTitle(title)),
                      dbc.ModalBody(id=f"{dialog}-body"),
                      dbc.ModalFooter([dbc.Button("Cancel", id=f"{dialog}-cancel", color="secondary"),
                                       dbc.Button(ok_label, id=f"{dialog}-ok", color="danger")])],
                     id=dialog, is_open=False, centered=True)
