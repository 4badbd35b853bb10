"""TabSet: Bootstrap-looking tabs that follow WAI-ARIA's tab pattern, for any page.

dbc.Tabs 2.0.4 gives every tab the id "…-tab-null" and points `aria-controls` at a panel that does not
exist, which axe-core reports as invalid ARIA. Here every tab names its own panel, all panels are in the
page (the others `hidden`, so their inputs keep their values and callbacks), and switching happens in the
browser (assets/js/pulse_tabs.js) without a round trip: click, or the arrow/Home/End keys on the tab list.
The store `store_id` holds the active key, for callbacks that load a panel only when it is opened.
"""
from __future__ import annotations

from dash import ClientsideFunction, Input, Output, clientside_callback, dcc, html


def tab_id(store_id: str, key: str) -> str:
    return f"{store_id}-tab-{key}"


def pane_id(store_id: str, key: str) -> str:
    return f"{store_id}-pane-{key}"


def tab_set(store_id: str, tabs: list[tuple[str, str, object]], active: str) -> html.Div:
    """`tabs` is [(key, label, content)]; `active` the key shown first. Call `register_tab_switch` once
    (at import of the page) with the same keys."""
    def tab(key, label):
        chosen = key == active
        return html.Li(html.Button(label, id=tab_id(store_id, key), type="button", role="tab",
                                   className="nav-link active" if chosen else "nav-link",
                                   tabIndex="0" if chosen else "-1",
                                   **{"aria-selected": "true" if chosen else "false",
                                      "aria-controls": pane_id(store_id, key)}),
                       className="nav-item", role="presentation")
    return html.Div([html.Ul([tab(key, label) for key, label, _ in tabs], className="nav nav-tabs pulse-tabs",
                             role="tablist"),
                     *[html.Div(content, id=pane_id(store_id, key), role="tabpanel", hidden=key != active,
                                **{"aria-labelledby": tab_id(store_id, key)}) for key, _, content in tabs],
                     dcc.Store(id=store_id, data=active)])


def register_tab_switch(store_id: str, keys: tuple[str, ...]) -> None:
    """The clientside callback that selects the clicked tab, shows its panel and stores its key."""
    clientside_callback(ClientsideFunction("pulse_tabs", "show"),
                        *[Output(tab_id(store_id, key), "className") for key in keys],
                        *[Output(tab_id(store_id, key), "aria-selected") for key in keys],
                        *[Output(tab_id(store_id, key), "tabIndex") for key in keys],
                        *[Output(pane_id(store_id, key), "hidden") for key in keys],
                        Output(store_id, "data"),
                        *[Input(tab_id(store_id, key), "n_clicks") for key in keys], prevent_initial_call=True)
