/*
 * The alert list of a page (Live, Assets, an entity's page): alerts kept by id, a status/priority filter,
 * the page's selection (only its stores/depts or assets/sensors), Acknowledge/Resolve through the JSON
 * API (fetch, same origin) and a line for a failed call. One board per page (`key`).
 *
 * The list is drawn straight into its container (which has no children in the layout, so Dash never
 * re-renders it) as DOM nodes with text nodes, never HTML: as Dash children, twenty alerts are some
 * two hundred components every Dash update of the page has to look at.
 *
 * cfg (the page's render config): alerts_url, alert_rows, ids.alerts, ids.alert_error, and optionally
 * `sensor_only` (the Assets screens list sensor alerts only), `links` (each alert links to its
 * entity's page) and `testid` (of each alert row).
 */
(function () {
  "use strict";
  var C = window.pulseCommon, make = C.make;
  var STATUS_LABELS = {open: "Open", acknowledged: "Acknowledged", resolved: "Resolved"};
  var STATUS_RANK = {open: 0, acknowledged: 1, resolved: 2};
  var boards = {};

  function board(key) {
    if (!boards[key]) {
      boards[key] = {alerts: {}, filter: {status: "all", priority: "all"}, selection: {}, cfg: null, lists: new WeakSet()};
    }
    return boards[key];
  }

  /* Keep `a` by id, unless the copy held is further along: a status only moves forward, and with
   * Redis an alert_update from a web worker may overtake the worker's `alert` (always "open"). */
  function keepAlert(byId, a) {
    var held = byId[a.id];
    if (held && (STATUS_RANK[held.status] || 0) > (STATUS_RANK[a.status] || 0)) { return; }
    byId[a.id] = a;
  }

  function inSelection(b, a) {
    if (b.cfg && b.cfg.sensor_only && a.type !== "alert_triggered") { return false; }
    return C.inSelection(b.selection, a);
  }

  function filtered(b) { return b.filter.status !== "all" || b.filter.priority !== "all"; }

  function keep(b, a) {
    if (inSelection(b, a)) { keepAlert(b.alerts, a); return true; }
    return false;
  }

  /* "Open", or who acknowledged/resolved it and when (an alert from before the workflow is open). */
  function statusText(a) {
    var status = a.status || "open", text = STATUS_LABELS[status] || String(status);
    if (status === "acknowledged") { text += " by " + a.acknowledged_by + " · " + C.timeOf(a.acknowledged_at); }
    if (status === "resolved") {
      text += " by " + a.resolved_by + " · " + C.timeOf(a.resolved_at);
      if (a.acknowledged_by) { text += " (acknowledged by " + a.acknowledged_by + ")"; }
    }
    return text;
  }

  /* Buttons for the next steps: none once resolved. The list container handles their clicks. */
  function actionButtons(a) {
    var status = a.status || "open", buttons = [];
    var button = function (action, text, tone) {
      return make("button", {type: "button", className: "btn btn-sm py-0 px-2 btn-outline-" + tone,
                             "data-alert-action": action, "data-alert-id": String(a.id)}, text);
    };
    if (status === "open") { buttons.push(button("acknowledge", "Acknowledge", "secondary")); }
    if (status !== "resolved") { buttons.push(button("resolve", "Resolve", "success")); }
    return make("span", {className: "alert-actions d-flex gap-1"}, buttons);
  }

  function alertNode(a, cfg) {
    var status = a.status || "open", entity = C.entityOf(a);
    return make("div", {className: "alert-item priority-" + a.priority + " status-" + status,
                        "data-testid": cfg.testid || "alert-item", "data-alert-id": String(a.id)}, [
      make("div", {className: "d-flex justify-content-between"}, [
        make("span", {className: "alert-priority"}, a.priority + " · " + a.risk_score),
        make("span", {className: "text-muted small"}, C.timeOf(a.timestamp))
      ]),
      make("div", {className: "alert-message"}, a.message),
      make("div", {className: "alert-why small text-muted"}, a.why),
      make("div", {className: "d-flex justify-content-between align-items-center mt-1"}, [
        make("span", {className: "alert-status small", "data-testid": "alert-status"}, statusText(a)),
        actionButtons(a)
      ]),
      cfg.links ? make("a", {className: "alert-open small", href: C.entityUrl(entity), "data-spa": "1",
                             "data-testid": "alert-open"}, "Open " + C.entityLabel(entity) + " →") : null
    ]);
  }

  /* Draw the board: newest first, those the selection and the filter keep, at most alert_rows. Older
   * alerts beyond what can be shown are forgotten, except those shown now (a filter may show old ones). */
  function draw(b) {
    var cfg = b.cfg, f = b.filter;
    if (!cfg) { return; }
    var list = Object.keys(b.alerts).map(function (k) { return b.alerts[k]; }).sort(function (x, y) { return y.id - x.id; });
    var shown = list.filter(function (a) {
      return inSelection(b, a) && (f.status === "all" || (a.status || "open") === f.status) &&
             (f.priority === "all" || a.priority === f.priority);
    }).slice(0, cfg.alert_rows);
    var showing = {};
    shown.forEach(function (a) { showing[a.id] = true; });
    list.slice(cfg.alert_rows * 5).forEach(function (a) { if (!showing[a.id]) { delete b.alerts[a.id]; } });
    var empty = filtered(b) ? "No alerts match the filter." :
      (cfg.sensor_only ? "No HIGH or CRITICAL sensor alerts yet." : "No HIGH or CRITICAL alerts yet.");
    C.fill(cfg.ids.alerts, shown.length ? shown.map(function (a) { return alertNode(a, cfg); })
                                        : make("div", {className: "text-muted small p-2"}, empty));
  }

  function showError(b, text) {
    if (b.cfg) { C.setProps(b.cfg.ids.alert_error, {children: text}); }
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
      draw(b);
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
      keepAlert(b.alerts, res.body);      // the alert_update on the socket says the same
      draw(b);
    });
  }

  /* One click listener per list container (delegation): the buttons are redrawn with every change. */
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
    draw: draw,
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
      draw(b);
    }
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_alerts: {
      /* The status/priority filter changed: redraw from what is held, then ask the API for older matches. */
      filter: function (status, priority, cfg) {
        var chart = cfg.kind === "sensor" ? window.pulseSensorChart : window.pulseLiveChart;
        var b = window.pulseAlerts.use(cfg.page, cfg, chart.state(cfg).selection);
        window.pulseAlerts.setFilter(b, status, priority);
        draw(b);
      }
    }
  });
})();
