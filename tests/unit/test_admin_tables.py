"""The Admin page's grids from AdminService rows: readable audit details, rows the grids sort and export,
human headers and times the browser formats."""
from components.admin_tables import (AUDIT_COLUMNS, USERS_COLUMNS, audit_rows, describe_detail, grid, key_rows,
                                     user_rows)


def test_an_audit_detail_reads_as_key_value_pairs_and_a_change_as_before_and_after():
    assert describe_detail("user.role", {"before": "analyst", "after": "admin"}) == "role: analyst → admin"
    assert describe_detail("user.create", {"role": "analyst"}) == "role: analyst"
    assert describe_detail("api_key.create", {"name": "gate <b>"}) == "name: gate <b>"        # text, shown as text
    thresholds = {"before": {"medium": 40, "high": 80, "critical": 90}, "after": {"medium": 40, "high": 70,
                                                                                 "critical": 95}}
    assert describe_detail("thresholds.update", thresholds) == "critical: 90 → 95; high: 80 → 70"   # only what changed
    source = {"before": {"simulator": True, "rate": 5.0, "anomaly_rate": 0.03},
              "after": {"simulator": False, "rate": 12.5, "anomaly_rate": 0.05}}
    assert describe_detail("source.update", source) == ("anomaly rate: 3.00\u00a0% → 5.00\u00a0%; rate: 5 → 12.5; "
                                                         "simulator: on → off")
    assert describe_detail("source.update", {"before": {"rate": 5}, "after": {"rate": 5}}) == "no change"
    assert describe_detail("user.disable", {}) == "" and describe_detail("user.disable", None) == ""


def test_rows_keep_exact_times_and_the_grids_have_human_headers():
    users = user_rows([{"id": 3, "username": "ann", "role": "analyst", "active": False,
                        "created_at": "2026-12-02T10:46:07.120Z"}])
    assert users == [{"id": 3, "username": "ann", "role": "analyst", "status": "disabled",
                      "created": "2026-12-02T10:46:07.120Z"}]
    keys = key_rows([{"name": "gw", "prefix": "ab12", "revoked": True, "created_at": "2026-12-02T10:46:07Z"}])
    assert keys[0]["status"] == "revoked" and keys[0]["created"] == "2026-12-02T10:46:07Z"
    audit = audit_rows([{"at": "2026-12-02T10:46:07Z", "actor": "boss", "action": "user.role", "target": "ann",
                         "detail": {"before": "analyst", "after": "admin"}}])
    assert audit[0]["detail"] == "role: analyst → admin" and audit[0]["time"] == "2026-12-02T10:46:07Z"
    assert [c["headerName"] for c in USERS_COLUMNS] == ["User", "Role", "Status", "Created"]
    assert [c["headerName"] for c in AUDIT_COLUMNS] == ["Time", "Who", "Action", "Target", "Detail"]
    created = USERS_COLUMNS[-1]
    assert created["valueFormatter"] == {"function": "adminTime(params.value)"}       # the browser's zone
    assert created["useValueFormatterForExport"] is False                              # CSV keeps the exact time


def test_a_grid_sorts_filters_exports_and_follows_the_colour_mode():
    table = grid("g", USERS_COLUMNS, "No users.", "users.csv", page_size=25)
    assert table.defaultColDef["sortable"] and table.defaultColDef["filter"]
    assert table.csvExportParams == {"fileName": "users.csv"}
    options = table.dashGridOptions
    assert "var(--bs-body-bg)" in options["theme"]["function"]         # Bootstrap's colours: light and dark
    assert options["localeText"] == {"noRowsToShow": "No users."} and options["paginationPageSize"] == 25


def test_each_tab_names_its_own_panel_and_only_the_active_panel_shows():
    from components.tabs import tab_set
    tabs = tab_set("t", [("a", "First", "one"), ("b", "Second", "two")], active="b")
    bar, first, second, store = tabs.children
    buttons = [item.children for item in bar.children]
    assert bar.role == "tablist" and [b.id for b in buttons] == ["t-tab-a", "t-tab-b"]
    assert [getattr(b, "aria-controls") for b in buttons] == ["t-pane-a", "t-pane-b"]
    assert [getattr(b, "aria-selected") for b in buttons] == ["false", "true"]
    assert [b.tabIndex for b in buttons] == ["-1", "0"]                 # only the chosen tab is in the Tab order
    assert (first.hidden, second.hidden, getattr(second, "aria-labelledby")) == (True, False, "t-tab-b")
    assert store.data == "b"
