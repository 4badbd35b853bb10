/*
 * Clientside rendering of live frames for pages/live.py.
 * A frame is either a snapshot (draw everything from scratch) or a batch of messages since the last
 * frame (kpi_update, iot_update, alert, alert_update, health_update). Alerts are kept by id, so a
 * snapshot followed by a batch carrying the same alert shows it once, and after a reconnect the
 * snapshot's `alerts` and `missed_alerts` (which overlap) merge into one list with current statuses;
 * an `alert_update` replaces the row it names. The alert list's buttons and filters use the JSON API
 * (fetch, same origin); a failed call is reported in the line under the filters. All text goes
 * through React children, which are rendered as text, never as HTML.
 */
(function () {
  "use strict";
  var C = window.pulseCommon, el = C.el, node = C.node, timeOf = C.timeOf, RISK_COLORS = C.RISK_COLORS;
  var state = {points: [], alerts: {}, health: {}, kpis: null, filter: {status: "all", priority: "all"},
               cfg: null, lists: new WeakSet()};
  var money = new Intl.NumberFormat("en-US", {style: "currency", currency: "USD", maximumFractionDigits: 0});

  function fmt(value, format) {
    if (value === null || value === undefined) { return "—"; }
    if (format === "money") { return money.format(value); }
    if (format === "percent") { return value.toFixed(1) + "%"; }
    if (format === "rate") { return value.toFixed(1); }
    return Number(value).toLocaleString("en-US");
  }

  function filtered() { return state.filter.status !== "all" || state.filter.priority !== "all"; }

  function matches(a) {
    var f = state.filter;
    return (f.status === "all" || (a.status || "open") === f.status) && (f.priority === "all" || a.priority === f.priority);
  }

  function renderAlerts(limit) {
    return C.renderAlerts(state.alerts, limit, "alert-item",
                          filtered() ? "No alerts match the filter." : "No HIGH or CRITICAL alerts yet.",
                          {keep: matches, actions: true});
  }

  function noteFilter(status, priority) {
    state.filter = {status: status || "all", priority: priority || "all"};
  }

  function redrawAlerts() {
    var cfg = state.cfg;
    if (cfg) { window.dash_clientside.set_props(cfg.ids.alerts, {children: renderAlerts(cfg.alert_rows)}); }
  }

  function showError(text) {
    if (state.cfg) { window.dash_clientside.set_props(state.cfg.ids.alert_error, {children: text}); }
  }

  /* fetch a JSON API; resolves to {ok, status, body}; never rejects (network errors become status 0). */
  function api(url, options) {
    options = Object.assign({credentials: "same-origin", headers: {"Accept": "application/json"}}, options || {});
    return fetch(url, options).then(function (r) {
      if (r.status === 401) {   // the session is gone: sign in again
        window.pulseCommon.toLogin();
      }
      return r.json().catch(function () { return {}; }).then(function (body) {
        return {ok: r.ok, status: r.status, body: body};
      });
    }).catch(function () { return {ok: false, status: 0, body: {}}; });
  }

  function problem(res, what) {
    if (res.status === 0) { return "Could not reach the server to " + what + "; try again."; }
    return (res.body && res.body.error ? String(res.body.error) : "The server refused to " + what) +
           " (HTTP " + res.status + ")";
  }

  /* Older alerts matching the filter come from the API; live frames keep the list current after that. */
  function fetchFiltered() {
    var cfg = state.cfg, f = state.filter;
    if (!cfg || !filtered()) { return; }
    var query = "?limit=" + cfg.alert_rows + (f.status !== "all" ? "&status=" + encodeURIComponent(f.status) : "") +
                (f.priority !== "all" ? "&priority=" + encodeURIComponent(f.priority) : "");
    api(cfg.alerts_url + query).then(function (res) {
      if (!res.ok) { showError(problem(res, "filter the alerts")); return; }
      (res.body.alerts || []).forEach(function (a) { C.keepAlert(state.alerts, a); });
      redrawAlerts();
    });
  }

  function act(button) {
    var cfg = state.cfg, id = button.getAttribute("data-alert-id"), action = button.getAttribute("data-alert-action");
    if (!cfg || !/^[0-9]+$/.test(id || "") || (action !== "acknowledge" && action !== "resolve")) { return; }
    button.disabled = true;
    api(cfg.alerts_url + "/" + id + "/" + action, {method: "POST", body: "{}",
        headers: {"Accept": "application/json", "Content-Type": "application/json"}}).then(function (res) {
      button.disabled = false;
      if (!res.ok) { showError(problem(res, action + " alert " + id)); return; }
      showError("");
      C.keepAlert(state.alerts, res.body);      // the alert_update on the socket says the same
      redrawAlerts();
    });
  }

  /* One click listener per list container (delegation): the buttons are re-rendered on every frame. */
  function bindList(cfg) {
    var list = document.getElementById(cfg.ids.alerts);
    if (!list || state.lists.has(list)) { return; }
    state.lists.add(list);
    list.addEventListener("click", function (e) {
      var button = e.target.closest ? e.target.closest("[data-alert-action]") : null;
      if (button && list.contains(button)) { act(button); }
    });
  }

  /* The points table and the health list change on almost every frame. They are drawn straight into
   * their containers (which Dash never re-renders: their layout has no children) with textContent:
   * as Dash children, 20 rows of new components cost the page ~250 ms of main thread per frame. */

  function drawPoints(id, limit) {
    var body = document.getElementById(id);
    if (!body) { return; }
    var rows = state.points.slice(0, limit).map(function (p) {
      var level = p.analysis.risk_level, tr = node("tr", p.analysis.anomaly_detected ? "table-danger" : "");
      [timeOf(p.timestamp), String(p.data.store), String(p.data.dept)].forEach(function (t) { tr.appendChild(node("td", "", t)); });
      tr.appendChild(node("td", "text-end", money.format(p.data.weekly_sales)));
      var badge = node("td");
      badge.appendChild(node("span", "badge text-bg-" + (RISK_COLORS[level] || "secondary"), level + " " + p.analysis.risk_score));
      tr.appendChild(badge);
      return tr;
    });
    body.replaceChildren.apply(body, rows);
  }

  function drawHealth(id, limit) {
    var box = document.getElementById(id);
    if (!box) { return; }
    var list = Object.keys(state.health).map(function (k) { return state.health[k]; })
      .sort(function (a, b) { return a.health_score - b.health_score; }).slice(0, limit);
    if (!list.length) { box.replaceChildren(node("div", "text-muted small", "No entities yet.")); return; }
    box.replaceChildren.apply(box, list.map(function (h) {
      var row = node("div", "health-row"), track = node("div", "health-track");
      var fill = node("div", "health-fill " + C.tone(h.health_score));
      fill.style.width = Math.max(2, h.health_score) + "%";
      track.appendChild(fill);
      row.appendChild(node("span", "health-label", "Store " + h.store + " / Dept " + h.dept));
      row.appendChild(track);
      row.appendChild(node("span", "health-score", h.health_score.toFixed(0)));
      return row;
    }));
  }

  function chartArrays(points, kpis, now) {
    var ev = {x: [], y: []}, an = {x: [], y: []}, avg = {x: [], y: []};
    points.forEach(function (p) {
      ev.x.push(p.timestamp); ev.y.push(p.data.weekly_sales);
      if (p.analysis.anomaly_detected) { an.x.push(p.timestamp); an.y.push(p.data.weekly_sales); }
    });
    if (kpis && kpis.avg_weekly_sales !== null && kpis.avg_weekly_sales !== undefined) {
      avg.x.push(now); avg.y.push(kpis.avg_weekly_sales);
    }
    return [ev, an, avg];
  }

  /* Points for the chart are gathered and drawn at most every CHART_MS: redrawing a 600-point plot
   * costs the page far more than a table row, and a few redraws a second look just as live. */
  var CHART_MS = 400;
  function chartUpdate(parts, maxPoints) {
    var pending = state.pendingChart || (state.pendingChart = [{x: [], y: []}, {x: [], y: []}, {x: [], y: []}]);
    parts.forEach(function (p, i) {
      Array.prototype.push.apply(pending[i].x, p.x);
      Array.prototype.push.apply(pending[i].y, p.y);
    });
    var now = Date.now();
    if (now - (state.chartDrawn || 0) < CHART_MS) { return window.dash_clientside.no_update; }
    var update = {x: [], y: []}, traces = [];
    pending.forEach(function (p, i) {
      if (p.x.length) { update.x.push(p.x); update.y.push(p.y); traces.push(i); }
    });
    state.pendingChart = null;
    if (!traces.length) { return window.dash_clientside.no_update; }
    state.chartDrawn = now;
    return [update, traces, maxPoints];
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_live: {
      render: function (frame, figure, cfg, status, priority) {
        var nu = window.dash_clientside.no_update;
        state.cfg = cfg;
        noteFilter(status, priority);
        bindList(cfg);
        var nKpi = cfg.kpis.length;
        var out = [];
        if (!frame) { for (var i = 0; i < nKpi + 4; i++) { out.push(nu); } return out; }
        var now = new Date().toISOString();
        var newPoints = [];
        var kpis = null, touchedAlerts = false, touchedHealth = false;

        if (frame.type === "snapshot") {
          state.points = (frame.points || []).slice().reverse();
          state.alerts = {};
          (frame.alerts || []).concat(frame.missed_alerts || []).forEach(function (a) { C.keepAlert(state.alerts, a); });
          fetchFiltered();           // statuses may have changed meanwhile beyond the snapshot's alerts
          state.health = {};
          (frame.health || []).forEach(function (h) { if (h.store !== undefined) { state.health[h.store + "/" + h.dept] = h; } });
          kpis = frame.kpis;
          touchedAlerts = touchedHealth = true;
        } else {
          (frame.messages || []).forEach(function (m) {
            if (m.type === "iot_update") { newPoints.push(m); }
            else if (m.type === "kpi_update") { kpis = m.kpis; }
            else if (m.type === "alert" || m.type === "alert_triggered") { C.keepAlert(state.alerts, m); touchedAlerts = true; }
            else if (m.type === "alert_update" && m.alert) { C.keepAlert(state.alerts, m.alert); touchedAlerts = true; }
            else if (m.type === "health_update") {     // store/dept records; asset records belong to the Assets page
              m.entities.forEach(function (h) {
                if (h.store !== undefined) { state.health[h.store + "/" + h.dept] = h; touchedHealth = true; }
              });
            }
          });
          if (newPoints.length) {
            state.points = newPoints.slice().reverse().concat(state.points).slice(0, cfg.table_rows);
          }
        }
        if (kpis) { state.kpis = kpis; }

        cfg.kpis.forEach(function (k) {
          out.push(kpis ? fmt(kpis[k.key], k.format) : nu);
        });
        out.push(touchedAlerts ? renderAlerts(cfg.alert_rows) : nu);
        if (frame.type === "snapshot" || newPoints.length) { drawPoints(cfg.ids.points, cfg.table_rows); }
        if (touchedHealth) { drawHealth(cfg.ids.health, cfg.health_rows); }

        if (frame.type === "snapshot") {
          state.pendingChart = null;
          var arrays = chartArrays(frame.points || [], kpis, now);
          var fig = Object.assign({}, figure);
          fig.data = figure.data.map(function (trace, i) { return Object.assign({}, trace, arrays[i]); });
          out.push(nu);
          out.push(fig);
        } else {
          out.push(chartUpdate(chartArrays(newPoints, kpis, now), cfg.chart_max_points));
          out.push(nu);
        }
        var via = frame.via === "poll" ? " (polling)" : "";
        out.push("updated " + new Date().toLocaleTimeString() + via);
        return out;
      },

      filter: function (status, priority, cfg) {
        state.cfg = cfg;
        noteFilter(status, priority);
        bindList(cfg);
        showError("");
        fetchFiltered();
        return renderAlerts(cfg.alert_rows);
      }
    }
  });
})();
