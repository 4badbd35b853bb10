/*
 * Clientside rendering of the Assets page (pages/assets.py): asset health cards, the latest reading of
 * every sensor, sensor alerts. A frame is a snapshot (redraw) or a batch of messages (sensor_update,
 * health_update for assets, alert_triggered, alert_update). Everything is rendered as React text, never as HTML.
 */
(function () {
  "use strict";
  var C = window.pulseCommon, el = C.el, timeOf = C.timeOf, RISK_COLORS = C.RISK_COLORS;
  var state = {readings: {}, assets: {}, alerts: {}};
  var QUALITY_COLORS = {good: "success", uncertain: "warning", bad: "danger"};

  function number(v) {
    return Number(v).toLocaleString("en-US", {maximumFractionDigits: 2});
  }

  function renderAssets() {
    var list = Object.keys(state.assets).map(function (k) { return state.assets[k]; })
      .sort(function (a, b) { return a.health_score - b.health_score || String(a.asset_id).localeCompare(b.asset_id); });
    if (!list.length) {
      return el("Div", {className: "text-muted small"},
                "No sensor data yet: run the simulator with SIM_PROFILE=sensor (or mixed), or send sensor events.");
    }
    return list.map(function (a) {
      var score = a.health_score;
      var tone = C.tone(score);
      return el("Div", {className: "asset-card", key: a.asset_id, "data-testid": "asset-card"}, [
        el("Div", {className: "d-flex justify-content-between"}, [
          el("Span", {className: "fw-semibold"}, String(a.asset_id)),
          el("Span", {className: "health-score-big " + tone}, score.toFixed(0))
        ]),
        el("Div", {className: "health-track"},
           el("Div", {className: "health-fill " + tone, style: {width: Math.max(2, score) + "%"}})),
        el("Div", {className: "text-muted small"},
           a.events + " readings · " + a.anomalies + " anomalies · " + timeOf(a.last_seen))
      ]);
    });
  }

  function renderReadings() {
    var list = Object.keys(state.readings).map(function (k) { return state.readings[k]; })
      .sort(function (a, b) { return String(a.asset_id).localeCompare(b.asset_id) || String(a.sensor_id).localeCompare(b.sensor_id); });
    return list.map(function (r) {
      var level = r.analysis.risk_level;
      return el("Tr", {key: r.sensor_id, className: r.analysis.anomaly_detected ? "table-danger" : ""}, [
        el("Td", {}, String(r.asset_id)),
        el("Td", {}, String(r.sensor_id)),
        el("Td", {}, String(r.sensor_type)),
        el("Td", {className: "text-end"}, number(r.value) + (r.unit ? " " + r.unit : "")),
        el("Td", {}, el("Span", {className: "badge text-bg-" + (QUALITY_COLORS[r.quality] || "secondary")}, String(r.quality))),
        el("Td", {}, el("Span", {className: "badge text-bg-" + (RISK_COLORS[level] || "secondary")},
                        level + " " + r.analysis.risk_score)),
        el("Td", {}, timeOf(r.timestamp))
      ]);
    });
  }

  function renderAlerts(limit) {
    return C.renderAlerts(state.alerts, limit, "sensor-alert", "No HIGH or CRITICAL sensor alerts yet.");
  }

  function noteHealth(records) {
    (records || []).forEach(function (h) { if (h.asset_id !== undefined) { state.assets[h.asset_id] = h; } });
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_assets: {
      render: function (frame, cfg) {
        var nu = window.dash_clientside.no_update;
        if (!frame) { return [nu, nu, nu, nu]; }
        var assets = false, readings = false, alerts = false;
        if (frame.type === "snapshot") {
          state.readings = {};
          (frame.sensors || []).forEach(function (r) { state.readings[r.sensor_id] = r; });
          state.assets = {};
          noteHealth(frame.health);
          state.alerts = {};
          (frame.alerts || []).concat(frame.missed_alerts || []).forEach(function (a) {
            if (a.type === "alert_triggered") { C.keepAlert(state.alerts, a); }
          });
          assets = readings = alerts = true;
        } else {
          (frame.messages || []).forEach(function (m) {
            if (m.type === "sensor_update") { state.readings[m.sensor_id] = m; readings = true; }
            else if (m.type === "health_update") {
              var before = Object.keys(state.assets).length;
              noteHealth(m.entities);
              assets = assets || m.entities.some(function (h) { return h.asset_id !== undefined; }) ||
                       Object.keys(state.assets).length !== before;
            }
            else if (m.type === "alert_triggered") { C.keepAlert(state.alerts, m); alerts = true; }
            else if (m.type === "alert_update" && m.alert && m.alert.type === "alert_triggered") {
              C.keepAlert(state.alerts, m.alert); alerts = true;     // acknowledged or resolved on the Live page
            }
          });
        }
        var via = frame.via === "poll" ? " (polling)" : "";
        return [assets ? renderAssets() : nu, readings ? renderReadings() : nu, alerts ? renderAlerts(cfg.alert_rows) : nu,
                "updated " + new Date().toLocaleTimeString() + via];
      }
    }
  });
})();
