/*
 * Clientside half of the Stream log page (pages/stream_log.py). Frames from the page's LiveSocket
 * are unpacked (a `batch` into its messages) and kept newest first, at most N; while paused, what
 * arrives is counted and the newest N are buffered, then put on top on Resume. Each message is
 * turned into its row once (time, channel, type, compact JSON as a text child: never HTML), so a
 * render only builds rows for what is new. The list and buffer live in this closure (one tab).
 */
(function () {
  "use strict";
  var MAX_JSON = 1000;          // characters of JSON shown per row (a snapshot can be large)
  var CHANNEL_OF = {iot_update: "iot", sensor_update: "sensors", alert: "alerts", alert_triggered: "alerts",
                    kpi_update: "kpis", health_update: "health", system_update: "system",
                    market_update: "market", notification: "notifications"};
  var state = {rows: [], buffer: [], newCount: 0, paused: false, seq: 0, total: 0};

  function clock() {
    var d = new Date();
    return d.toLocaleTimeString() + "." + String(d.getMilliseconds()).padStart(3, "0");
  }

  function row(message, channel) {
    var el = window.pulseCommon.el;
    var text = JSON.stringify(message);
    if (text.length > MAX_JSON) { text = text.slice(0, MAX_JSON) + "… (" + text.length + " characters)"; }
    state.seq += 1;
    return el("Div", {className: "stream-row", key: String(state.seq), "data-testid": "stream-row"}, [
      el("Span", {className: "stream-time"}, clock()),
      el("Span", {className: "badge text-bg-light"}, channel),
      el("Span", {className: "stream-type"}, String(message.type)),
      el("Span", {className: "stream-json"}, text)
    ]);
  }

  /* The frame's messages as rows, newest first; messages of channels not chosen are skipped. */
  function unpack(frame, chosen) {
    var list = frame.type === "batch" ? (frame.messages || []) : [frame];
    var out = [];
    list.forEach(function (m) {
      var channel = frame.type === "batch" ? (CHANNEL_OF[m.type] || "other") : m.type;
      if (frame.type === "batch" && chosen.indexOf(channel) < 0) { return; }
      out.push(row(m, channel));
    });
    return out.reverse();
  }

  function triggeredBy(name) {
    var ctx = window.dash_clientside.callback_context;
    return (ctx.triggered || []).some(function (t) { return t.prop_id.indexOf(name + ".") === 0; });
  }

  function counter(limit) {
    var shown = state.rows.length + " of at most " + limit + " shown · " + state.total + " received";
    return state.paused ? "Paused: " + state.newCount + " new · " + shown : shown;
  }

  function view() {
    if (!state.rows.length) {
      return window.pulseCommon.el("Div", {className: "text-muted small p-2"}, "waiting for messages…");
    }
    return state.rows.slice();
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_stream_log: {
      update: function (frame, pauseClicks, _clear, limit, channels, cfg) {
        var nu = window.dash_clientside.no_update;
        var chosen = channels || [];
        limit = limit || 200;
        if (triggeredBy("stream-channels") && cfg && window.pulseSocket) {
          window.pulseSocket.setChannels(cfg, chosen);
          return [nu, counter(limit), nu];
        }
        var paused = (pauseClicks || 0) % 2 === 1;    // from the button, so a re-opened page starts live
        if (state.paused && !paused) {
          state.rows = state.buffer.concat(state.rows).slice(0, limit);
          state.buffer = [];
          state.newCount = 0;
        }
        state.paused = paused;
        if (triggeredBy("stream-pause")) {
          return [view(), counter(limit), paused ? "Resume" : "Pause"];
        }
        if (triggeredBy("stream-clear")) {
          state.rows = [];
          state.buffer = [];
          state.newCount = 0;
          return [view(), counter(limit), nu];
        }
        if (triggeredBy("stream-limit")) {
          state.rows = state.rows.slice(0, limit);
          state.buffer = state.buffer.slice(0, limit);
          return [view(), counter(limit), nu];
        }
        if (!frame) { return [nu, nu, nu]; }
        var fresh = unpack(frame, chosen);
        if (!fresh.length) { return [nu, nu, nu]; }
        state.total += fresh.length;
        if (state.paused) {
          state.newCount += fresh.length;
          state.buffer = fresh.concat(state.buffer).slice(0, limit);
          return [nu, counter(limit), nu];
        }
        state.rows = fresh.concat(state.rows).slice(0, limit);
        return [view(), counter(limit), nu];
      }
    }
  });
})();
