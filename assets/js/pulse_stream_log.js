/*
 * Clientside half of the Stream log page (pages/stream_log.py). Frames from the page's LiveSocket
 * are unpacked (a `batch` into its messages) and shown newest first, at most N rows; while paused,
 * what arrives is counted and the newest N are buffered, then put on top on Resume.
 *
 * Rows are DOM nodes made here with textContent (server data is never parsed as HTML) and kept in
 * the list container, which Dash renders once, empty, and never updates. Going through Dash
 * children instead meant re-laying-out N rows per frame (10 a second), which saturated the tab.
 * The rows and the buffer live in this closure (one tab); a re-opened page gets them back.
 */
(function () {
  "use strict";
  var MAX_JSON = 1000;          // characters of JSON shown per row (a snapshot can be large)
  var CHANNEL_OF = {iot_update: "iot", sensor_update: "sensors", alert: "alerts", alert_triggered: "alerts",
                    kpi_update: "kpis", health_update: "health", system_update: "system",
                    market_update: "market", notification: "notifications"};
  var state = {rows: [], buffer: [], newCount: 0, paused: false, total: 0, container: null};

  function clock() {
    var d = new Date();
    var pad = function (n, width) { return String(n).padStart(width, "0"); };
    return pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" + pad(d.getSeconds(), 2) + "." +
      pad(d.getMilliseconds(), 3);
  }

  function span(className, text) { return window.pulseCommon.node("span", className, text); }

  function row(message, channel) {
    var text = JSON.stringify(message);
    if (text.length > MAX_JSON) { text = text.slice(0, MAX_JSON) + "… (" + text.length + " characters)"; }
    var div = window.pulseCommon.node("div", "stream-row");
    div.setAttribute("data-testid", "stream-row");
    div.appendChild(span("stream-time", clock()));
    div.appendChild(span("badge text-bg-light", channel));
    div.appendChild(span("stream-type", String(message.type)));
    div.appendChild(span("stream-json", text));
    return div;
  }

  /* The frame's messages (of the chosen channels) as rows, newest first, at most `limit`. */
  function unpack(frame, chosen, limit) {
    var list = frame.type === "batch" ? (frame.messages || []) : [frame];
    var kept = [];
    list.forEach(function (m) {
      var channel = frame.type === "batch" ? (CHANNEL_OF[m.type] || "other") : m.type;
      if (frame.type !== "batch" || chosen.indexOf(channel) >= 0) { kept.push([m, channel]); }
    });
    return {count: kept.length, rows: kept.slice(-limit).reverse().map(function (k) { return row(k[0], k[1]); })};
  }

  /* Make the container hold exactly state.rows, touching only what changed. */
  function show(containerId) {
    var container = document.getElementById(containerId);
    if (!container) { return; }
    if (container !== state.container) {          // the page was (re)opened: a new, empty container
      state.container = container;
      container.textContent = "";
    }
    var keep = new Set(state.rows);
    Array.prototype.slice.call(container.childNodes).forEach(function (node) {
      if (!keep.has(node)) { container.removeChild(node); }
    });
    var fragment = document.createDocumentFragment();
    var i = 0;
    while (i < state.rows.length && state.rows[i].parentNode !== container) { fragment.appendChild(state.rows[i]); i += 1; }
    container.insertBefore(fragment, container.firstChild);
    for (; i < state.rows.length; i += 1) {       // rows after the new top ones (e.g. after Resume)
      if (state.rows[i].parentNode !== container) { container.appendChild(state.rows[i]); }
    }
  }

  function triggeredBy(name) {
    var ctx = window.dash_clientside.callback_context;
    return (ctx.triggered || []).some(function (t) { return t.prop_id.indexOf(name + ".") === 0; });
  }

  function counter(limit) {
    var shown = state.rows.length + " of at most " + limit + " shown · " + state.total + " received";
    return state.paused ? "Paused: " + state.newCount + " new · " + shown : shown;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_stream_log: {
      /* `render` is the page's config store: the element ids (from the page's Ids) and the default limit. */
      update: function (frame, pauseClicks, _clear, limit, channels, cfg, render) {
        var nu = window.dash_clientside.no_update;
        var ids = render.ids;
        var chosen = channels || [];
        limit = limit || render.default_limit;
        if (triggeredBy(ids.channels) && cfg && window.pulseSocket) {
          window.pulseSocket.setChannels(cfg, chosen);
          return [counter(limit), nu];
        }
        var paused = (pauseClicks || 0) % 2 === 1;    // from the button, so a re-opened page starts live
        if (state.paused && !paused) {
          state.rows = state.buffer.concat(state.rows).slice(0, limit);
          state.buffer = [];
          state.newCount = 0;
        }
        state.paused = paused;
        if (triggeredBy(ids.clear)) {
          state.rows = [];
          state.buffer = [];
          state.newCount = 0;
        } else if (triggeredBy(ids.limit)) {
          state.rows = state.rows.slice(0, limit);
          state.buffer = state.buffer.slice(0, limit);
        } else if (!triggeredBy(ids.pause)) {   // a frame arrived
          var fresh = frame ? unpack(frame, chosen, limit) : {count: 0, rows: []};
          if (!fresh.count) { return [nu, nu]; }
          state.total += fresh.count;
          if (paused) {
            state.newCount += fresh.count;
            state.buffer = fresh.rows.concat(state.buffer).slice(0, limit);
            return [counter(limit), nu];
          }
          state.rows = fresh.rows.concat(state.rows).slice(0, limit);
        }
        show(ids.rows);
        return [counter(limit), paused ? "Resume" : "Pause"];
      }
    }
  });
})();
