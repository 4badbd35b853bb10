/*
 * Clientside rendering of live frames for the Live page and a store/dept page (pages/live.py,
 * pages/entity.py). A frame is either a snapshot (draw everything from scratch) or a batch of messages
 * since the last frame (kpi_update, iot_update, alert, alert_update, health_update). The page's
 * selection is applied by the server (the socket's filter); what the socket sent before a new filter
 * took effect is dropped here too: a snapshot or KPIs of another selection, points, health records
 * and alerts outside it. Alerts live on the page's board (pulse_alerts.js), the chart in
 * pulse_live_chart.js; KPI values, the table and the health list are drawn straight into their
 * elements (Dash never re-renders them). All text goes through React children or textContent, never HTML.
 */
(function () {
  "use strict";
  var C = window.pulseCommon, node = C.node, timeOf = C.timeOf, RISK_COLORS = C.RISK_COLORS;
  var pages = {};

  function page(cfg) { return pages[cfg.page] || (pages[cfg.page] = {points: [], health: {}, shown: {}, drawn: 0}); }

  /* A text output only when it changed: every Dash update costs the tab, an unchanged one for nothing. */
  function changed(st, key, text) {
    if (st.shown[key] === text) { return window.dash_clientside.no_update; }
    st.shown[key] = text;
    return text;
  }

  /* KPI values go straight into their elements (no children in the layout, so Dash never redraws
   * them): seven Dash updates a few times a second cost the tab more than the whole frame else. */
  function drawKpis(cfg, kpis) {
    cfg.kpis.forEach(function (k) {
      var box = document.getElementById(k.id), text = fmt(kpis[k.key], k.format);
      if (box && box.textContent !== text) { box.textContent = text; }
    });
  }

  /* The table and the health list at most every TABLE_MS (the last change always drawn). */
  var TABLE_MS = 300;
  function drawSoon(cfg, st, points, health) {
    st.dirtyPoints = st.dirtyPoints || points;
    st.dirtyHealth = st.dirtyHealth || health;
    if (st.tableTimer) { return; }
    st.tableTimer = setTimeout(function () {
      st.tableTimer = null;
      st.drawn = Date.now();
      if (st.dirtyPoints) { drawPoints(cfg, st); }
      if (st.dirtyHealth) { drawHealth(cfg, st); }
      st.dirtyPoints = st.dirtyHealth = false;
    }, Math.max(0, st.drawn + TABLE_MS - Date.now()));
  }

  function fmt(value, format) {
    if (value === null || value === undefined) { return "—"; }
    if (format === "money") { return window.pulseFormat.money(value, "$"); }   // as Analysis shows sales
    if (format === "percent") { return window.pulseFormat.percent(value / 100, 1); }   // the KPI is already x100
    if (format === "rate") { return window.pulseFormat.number(value, 1); }
    return window.pulseFormat.number(value, 0);
  }

  /* The points table and the health list change on almost every frame. They are drawn straight into
   * their containers (which Dash never re-renders: their layout has no children) with textContent:
   * as Dash children, 20 rows of new components cost the page ~250 ms of main thread per frame. */

  function cell(tr, className, text) { tr.appendChild(node("td", className, text)); return tr; }

  function drawPoints(cfg, st) {
    var body = document.getElementById(cfg.ids.points);
    if (!body) { return; }
    var rows = st.points.slice(0, cfg.table_rows).map(function (p) {
      var a = p.analysis, d = p.data, tr = node("tr", a.anomaly_detected ? "table-danger" : "");
      cell(tr, "", timeOf(p.received || p.timestamp));
      var where = node("td");
      where.appendChild(C.link({store: d.store, dept: d.dept}));
      tr.appendChild(where);
      cell(tr, "text-end", window.pulseFormat.money(d.weekly_sales, "$"));
      cell(tr, "text-end", window.pulseFormat.number(d.temperature, 1));
      cell(tr, "text-end", window.pulseFormat.number(a.anomaly_score, 2));
      cell(tr, "text-end", a.cluster === null || a.cluster === undefined ? "—" : String(a.cluster));
      var badge = node("td");
      badge.appendChild(node("span", "badge text-bg-" + (RISK_COLORS[a.risk_level] || "secondary"),
                             a.risk_level + " " + a.risk_score + (a.anomaly_detected ? " · anomaly" : "")));
      tr.appendChild(badge);
      return tr;
    });
    if (!rows.length) {
      var empty = node("tr");
      empty.appendChild(node("td", "text-muted small", "No events for this selection yet."));
      empty.firstChild.colSpan = 7;
      rows = [empty];
    }
    body.replaceChildren.apply(body, rows);
  }

  function drawHealth(cfg, st) {
    var box = document.getElementById(cfg.ids.health);
    if (!box) { return; }
    var list = Object.keys(st.health).map(function (k) { return st.health[k]; })
      .sort(function (a, b) { return a.health_score - b.health_score; }).slice(0, cfg.health_rows);
    if (!list.length) { box.replaceChildren(node("div", "text-muted small", "No entities yet.")); return; }
    box.replaceChildren.apply(box, list.map(function (h) {
      var row = node("div", "health-row"), track = node("div", "health-track");
      var fill = node("div", "health-fill " + C.tone(h.health_score));
      fill.style.width = Math.max(2, h.health_score) + "%";
      track.appendChild(fill);
      row.appendChild(C.link({store: h.store, dept: h.dept}, undefined, "health-label"));
      row.appendChild(track);
      row.appendChild(node("span", "health-score", h.health_score.toFixed(0)));
      row.setAttribute("data-testid", "health-row");
      return row;
    }));
  }

  function noteHealth(st, selection, records) {
    var touched = false;
    (records || []).forEach(function (h) {
      if (h.store !== undefined && C.inSelection(selection, h)) { st.health[h.store + "/" + h.dept] = h; touched = true; }
    });
    return touched;
  }

  /* A raw history point in the shape of an iot_update (what the table draws). */
  function asUpdate(h) {
    return {event_id: h.event_id, timestamp: h.timestamp, received: h.received,
            data: {store: h.store, dept: h.dept, weekly_sales: h.value, temperature: h.temperature},
            analysis: {anomaly_detected: h.anomaly, anomaly_score: h.anomaly_score, risk_level: h.risk_level,
                       risk_score: h.risk_score, cluster: h.cluster}};
  }

  window.pulseLiveFrames = {
    /* Raw history: the table shows its newest events until live ones take their place (a quiet
     * store/dept may see one event a minute). */
    history: function (cfg, series) {
      var st = page(cfg), seen = {};
      st.points.forEach(function (p) { seen[p.event_id] = true; });
      var older = series.slice(-cfg.table_rows).reverse().filter(function (h) { return !seen[h.event_id]; }).map(asUpdate);
      st.points = st.points.concat(older).sort(function (a, b) {
        return Date.parse(b.received || b.timestamp) - Date.parse(a.received || a.timestamp);
      }).slice(0, cfg.table_rows);
      drawPoints(cfg, st);
    },
    /* The page now shows another selection: forget what is outside it until its snapshot arrives. */
    selectionChanged: function (cfg, selection) {
      var st = page(cfg);
      st.points = st.points.filter(function (p) { return C.inSelection(selection, p); });
      Object.keys(st.health).forEach(function (k) { if (!C.inSelection(selection, st.health[k])) { delete st.health[k]; } });
      drawPoints(cfg, st);
      drawHealth(cfg, st);
      window.pulseAlerts.setSelection(window.pulseAlerts.use(cfg.page, cfg), selection);
    }
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_live: {
      render: function (frame, figure, cfg, status, priority) {
        var nu = window.dash_clientside.no_update, out = [];
        var chart = window.pulseLiveChart.state(cfg), selection = chart.selection;
        var st = page(cfg), board = window.pulseAlerts.use(cfg.page, cfg, selection);
        window.pulseAlerts.setFilter(board, status, priority);
        var stale = frame && frame.type === "snapshot" && !C.sameSelection(frame.selection, selection);
        if (!frame || stale) { return [nu, nu, nu]; }
        var newPoints = [], kpis = null, touchedAlerts = false, touchedHealth = false;

        if (frame.type === "snapshot") {
          st.points = (frame.points || []).slice().reverse().filter(function (p) { return C.inSelection(selection, p); });
          window.pulseAlerts.reset(board, (frame.alerts || []).concat(frame.missed_alerts || []));
          st.health = {};
          noteHealth(st, selection, frame.health);
          kpis = frame.kpis;
          touchedAlerts = touchedHealth = true;
        } else {
          (frame.messages || []).forEach(function (m) {
            if (m.type === "iot_update") { if (C.inSelection(selection, m)) { newPoints.push(m); } }
            else if (m.type === "kpi_update") { if (C.sameSelection(m.selection, selection)) { kpis = m.kpis; } }
            else if (m.type === "health_update") { touchedHealth = noteHealth(st, selection, m.entities) || touchedHealth; }
            else { touchedAlerts = window.pulseAlerts.take(board, m) || touchedAlerts; }
          });
          if (newPoints.length) { st.points = newPoints.slice().reverse().concat(st.points).slice(0, cfg.table_rows); }
        }

        if (kpis) { drawKpis(cfg, kpis); }
        if (touchedAlerts) { window.pulseAlerts.draw(board); }
        drawSoon(cfg, st, frame.type === "snapshot" || newPoints.length > 0, touchedHealth);
        var points = frame.type === "snapshot" ? (frame.points || []) : newPoints;
        out = out.concat(window.pulseLiveChart.take(cfg, chart, figure, points, kpis, frame.type === "snapshot"));
        var via = frame.via === "poll" ? " (polling)" : "";
        out.push(changed(st, "updated", "updated " + timeOf(new Date()) + via));
        return out;
      }
    }
  });
})();
