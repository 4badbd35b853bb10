/*
 * The alert list of a page (Live, Assets, an entity's page): alerts kept by id, a status/priority filter,
 * the page's selection (only its stores/depts or assets/sensors), Acknowledge/Resolve through the JSON
 * API (fetch, same origin) and a line for a failed call. One board per page (`key`); every list is
 * drawn by pulseCommon.renderAlerts as React text, never as HTML.
 *
 * cfg (the page's render config): alerts_url, alert_rows, ids.alerts, ids.alert_error, and optionally
 * `sensor_only` (the Assets screens list sensor alerts only) and `links` (each alert links to its entity).
 */
(function () {
  "use strict";
  var C = window.pulseCommon;
  var boards = {};

  function board(key) {
    if (!boards[key]) {
      boards[key] = {alerts: {}, filter: {status: "all", priority: "all"}, selection: {}, cfg: null, lists: new WeakSet()};
    }
    return boards[key];
  }

  function inSelection(b, a) {
    if (b.cfg && b.cfg.sensor_only && a.type !== "alert_triggered") { return false; }
    return C.inSelection(b.selection, a);
  }

  function filtered(b) { return b.filter.status !== "all" || b.filter.priority !== "all"; }

  function keep(b, a) {
    if (inSelection(b, a)) { C.keepAlert(b.alerts, a); return true; }
    return false;
  }

  function render(b) {
    var cfg = b.cfg, f = b.filter;
    var matches = function (a) {
      return inSelection(b, a) && (f.status === "all" || (a.status || "open") === f.status) &&
             (f.priority === "all" || a.priority === f.priority);
    };
    var empty = filtered(b) ? "No alerts match the filter." :
      (cfg.sensor_only ? "No HIGH or CRITICAL sensor alerts yet." : "No HIGH or CRITICAL alerts yet.");
    return C.renderAlerts(b.alerts, cfg.alert_rows, cfg.testid || "alert-item", empty,
                          {keep: matches, actions: true, links: !!cfg.links});
  }

  function redraw(b) {
    if (!b.cfg) { return; }
    try { window.dash_clientside.set_props(b.cfg.ids.alerts, {children: render(b)}); } catch (e) { /* page left */ }
  }

  function showError(b, text) {
    if (!b.cfg) { return; }
    try { window.dash_clientside.set_props(b.cfg.ids.alert_error, {children: text}); } catch (e) { /* page left */ }
  }

  function problem(res, what) {
    if (res.status === 0) { return "Could not reach the server to " + what + "; try again."; }
    return (res.body && res.body.error ? String(res.body.error) : "The server refused to " + what) +
           " (HTTP " + res.status + ")";
  }

  function selectionQuery(selection) {
    return Object.keys(selection || {}).filter(function (k) { return (selection[k] || []).length; })
      .map(function (k) { return "&" + k + "=" + selection[k].map(encodeURIComponent).join(","); }).join("");
  }

  /* Older alerts matching the filter come from the API; live frames keep the list current after that. */
  function fetchFiltered(b) {
    var cfg = b.cfg, f = b.filter;
    if (!cfg || !filtered(b)) { return; }
    var query = "?limit=" + cfg.alert_rows + (f.status !== "all" ? "&status=" + encodeURIComponent(f.status) : "") +
                (f.priority !== "all" ? "&priority=" + encodeURIComponent(f.priority) : "") + selectionQuery(b.selection);
    C.api(cfg.alerts_url + query).then(function (res) {
      if (!res.ok) { showError(b, problem(res, "filter the alerts")); return; }
      (res.body.alerts || []).forEach(function (a) { keep(b, a); });
      redraw(b);
    });
  }

  function act(b, button) {
    var cfg = b.cfg, id = button.getAttribute("data-alert-id"), action = button.getAttribute("data-alert-action");
    if (!cfg || !/^[0-9]+$/.test(id || "") || (action !== "acknowledge" && action !== "resolve")) { return; }
    button.disabled = true;
    C.api(cfg.alerts_url + "/" + id + "/" + action, {method: "POST", body: "{}",
        headers: {"Accept": "application/json", "Content-Type": "application/json"}}).then(function (res) {
      button.disabled = false;
      if (!res.ok) { showError(b, problem(res, action + " alert " + id)); return; }
      showError(b, "");
      C.keepAlert(b.alerts, res.body);      // the alert_update on the socket says the same
      redraw(b);
    });
  }

  /* One click listener per list container (delegation): the buttons are re-rendered on every frame. */
  function bind(b) {
    var list = b.cfg && document.getElementById(b.cfg.ids.alerts);
    if (!list || b.lists.has(list)) { return; }
    b.lists.add(list);
    list.addEventListener("click", function (e) {
      var button = e.target.closest ? e.target.closest("[data-alert-action]") : null;
      if (button && list.contains(button)) { act(b, button); }
    });
  }

  window.pulseAlerts = {
    /* The page's board, with its config (and selection, when given) brought up to date. */
    use: function (key, cfg, selection) {
      var b = board(key);
      b.cfg = cfg;
      if (selection !== undefined) { b.selection = selection || {}; }
      bind(b);
      return b;
    },
    /* A snapshot: what it carries replaces what was held (its `alerts` and `missed_alerts` overlap). */
    reset: function (b, alerts) {
      b.alerts = {};
      (alerts || []).forEach(function (a) { keep(b, a); });
      fetchFiltered(b);            // statuses may have changed meanwhile beyond the snapshot's alerts
    },
    /* Messages of a batch; true when the list changed. */
    take: function (b, m) {
      if (m.type === "alert" || m.type === "alert_triggered") { return keep(b, m); }
      if (m.type === "alert_update" && m.alert) { return keep(b, m.alert); }
      return false;
    },
    render: render,
    setFilter: function (b, status, priority) {
      var next = {status: status || "all", priority: priority || "all"};
      var changed = next.status !== b.filter.status || next.priority !== b.filter.priority;
      b.filter = next;
      if (changed) { showError(b, ""); fetchFiltered(b); }
      return changed;
    },
    /* A new selection: drop what it excludes (a snapshot of the selection follows on the socket). */
    setSelection: function (b, selection) {
      b.selection = selection || {};
      Object.keys(b.alerts).forEach(function (id) { if (!inSelection(b, b.alerts[id])) { delete b.alerts[id]; } });
      fetchFiltered(b);
    }
  };
})();
