/*
 * Clientside rendering of the sensor screens (components/sensor_view.py: the Assets page and an asset's
 * page): asset health cards, the latest reading of every sensor, sensor alerts with their workflow. A
 * frame is a snapshot (redraw) or a batch of messages (sensor_update, health_update for assets,
 * alert_triggered, alert_update). Like the Live page, the selection is the server's (the socket's
 * filter) and is applied here too to what arrived before a new filter took effect. The history
 * charts are pulse_sensor_chart.js. Everything is rendered as text (DOM text nodes), never as HTML.
 */
(function () {
  "use strict";
  var C = window.pulseCommon, make = C.make, timeOf = C.timeOf, RISK_COLORS = C.RISK_COLORS;
  var QUALITY_COLORS = {good: "success", uncertain: "warning", bad: "danger"};
  var pages = {};

  function page(cfg) { return pages[cfg.page] || (pages[cfg.page] = {readings: {}, assets: {}}); }

  function number(v) { return window.pulseFormat.number(v, 2); }

  /* Asset cards and readings are drawn straight into their containers (no children in the layout, so
   * Dash never re-renders them), as DOM nodes with text nodes: every frame brings readings, and as
   * Dash children two dozen rows are hundreds of components every update of the page looks at. */
  function drawAssets(cfg, st) {
    var list = Object.keys(st.assets).map(function (k) { return st.assets[k]; })
      .sort(function (a, b) { return a.health_score - b.health_score || String(a.asset_id).localeCompare(b.asset_id); });
    if (!list.length) {
      C.fill(cfg.ids.health, make("div", {className: "text-muted small"},
        "No sensor data yet: run the simulator with SIM_PROFILE=sensor (or mixed), or send sensor events."));
      return;
    }
    C.fill(cfg.ids.health, list.map(function (a) {
      var score = a.health_score, tone = C.tone(score);
      return make("div", {className: "asset-card", "data-testid": "asset-card"}, [
        make("div", {className: "d-flex justify-content-between"}, [
          C.link({asset_id: a.asset_id}, String(a.asset_id), "fw-semibold"),
          make("span", {className: "health-score-big " + tone}, score.toFixed(0))
        ]),
        make("div", {className: "health-track"},
             make("div", {className: "health-fill " + tone, style: {width: Math.max(2, score) + "%"}})),
        make("div", {className: "text-muted small"},
             a.events + " readings · " + a.anomalies + " anomalies · " + timeOf(a.last_seen))
      ]);
    }));
  }

  function drawReadings(cfg, st) {
    var list = Object.keys(st.readings).map(function (k) { return st.readings[k]; })
      .sort(function (a, b) { return String(a.asset_id).localeCompare(b.asset_id) || String(a.sensor_id).localeCompare(b.sensor_id); });
    if (!list.length) {
      C.fill(cfg.ids.readings, make("tr", {}, make("td", {colspan: "8", className: "text-muted small"},
                                                  "No readings for this selection yet.")));
      return;
    }
    C.fill(cfg.ids.readings, list.map(function (r) {
      var a = r.analysis, level = a.risk_level;
      return make("tr", {className: a.anomaly_detected ? "table-danger" : ""}, [
        make("td", {}, C.link({asset_id: r.asset_id}, String(r.asset_id))),
        make("td", {}, C.link({asset_id: r.asset_id, sensor_id: r.sensor_id}, String(r.sensor_id))),
        make("td", {}, String(r.sensor_type)),
        make("td", {className: "text-end"}, number(r.value) + (r.unit ? " " + r.unit : "")),
        make("td", {}, make("span", {className: "badge text-bg-" + (QUALITY_COLORS[r.quality] || "secondary")}, String(r.quality))),
        make("td", {className: "text-end"}, window.pulseFormat.number(a.anomaly_score, 2)),
        make("td", {}, make("span", {className: "badge text-bg-" + (RISK_COLORS[level] || "secondary")}, level + " " + a.risk_score)),
        make("td", {}, timeOf(r.received || r.timestamp))
      ]);
    }));
  }

  function noteHealth(st, selection, records) {
    var touched = false;
    (records || []).forEach(function (h) {
      if (h.asset_id !== undefined && C.inSelection(selection, h)) { st.assets[h.asset_id] = h; touched = true; }
    });
    return touched;
  }

  window.pulseAssetsFrames = {
    /* The page now shows another selection: forget what is outside it until its snapshot arrives. */
    selectionChanged: function (cfg, selection) {
      var st = page(cfg);
      Object.keys(st.readings).forEach(function (k) { if (!C.inSelection(selection, st.readings[k])) { delete st.readings[k]; } });
      Object.keys(st.assets).forEach(function (k) { if (!C.inSelection(selection, st.assets[k])) { delete st.assets[k]; } });
      window.pulseAlerts.setSelection(window.pulseAlerts.use(cfg.page, cfg), selection);
      drawAssets(cfg, st);
      drawReadings(cfg, st);
    },
    /* Every sensor the page knows (the chart's axes and units come from the readings). */
    readings: function (cfg) { return page(cfg).readings; }
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_assets: {
      render: function (frame, cfg, status, priority) {
        var nu = window.dash_clientside.no_update;
        var chart = window.pulseSensorChart.state(cfg), selection = chart.selection, st = page(cfg);
        var board = window.pulseAlerts.use(cfg.page, cfg, selection);
        window.pulseAlerts.setFilter(board, status, priority);
        if (!frame || (frame.type === "snapshot" && !C.sameSelection(frame.selection, selection))) { return nu; }
        var assets = false, readings = false, alerts = false, fresh = [];
        if (frame.type === "snapshot") {
          st.readings = {};
          (frame.sensors || []).forEach(function (r) { if (C.inSelection(selection, r)) { st.readings[r.sensor_id] = r; fresh.push(r); } });
          st.assets = {};
          noteHealth(st, selection, frame.health);
          window.pulseAlerts.reset(board, (frame.alerts || []).concat(frame.missed_alerts || []));
          assets = readings = alerts = true;
        } else {
          (frame.messages || []).forEach(function (m) {
            if (m.type === "sensor_update") {
              if (C.inSelection(selection, m)) { st.readings[m.sensor_id] = m; fresh.push(m); readings = true; }
            } else if (m.type === "health_update") { assets = noteHealth(st, selection, m.entities) || assets; }
            else { alerts = window.pulseAlerts.take(board, m) || alerts; }
          });
        }
        window.pulseSensorChart.take(cfg, fresh, frame.type === "snapshot");
        var via = frame.via === "poll" ? " (polling)" : "";
        if (assets) { drawAssets(cfg, st); }
        if (readings) { drawReadings(cfg, st); }
        if (alerts) { window.pulseAlerts.draw(board); }
        var updated = "updated " + timeOf(new Date()) + via;
        if (updated === st.updated) { return nu; }
        st.updated = updated;
        return updated;
      }
    }
  });
})();
