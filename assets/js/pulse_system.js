/*
 * Clientside rendering of the System page (pages/system.py) from `system_update` messages (and the
 * stats a snapshot carries). Builds React elements with text children only (pulseCommon.el), so
 * nothing the server sends is ever read as HTML. The events/s history for the chart (one sample per
 * update, the last ten minutes) lives in this closure.
 */
(function () {
  "use strict";
  var MAX_SAMPLES = 600;
  var history = [];

  function C() { return window.pulseCommon; }

  function num(v, digits) { return window.pulseFormat.number(v, digits === undefined ? 1 : digits); }

  function mb(bytes) { return bytes === undefined ? "—" : num(bytes / 1048576, 1) + " MB"; }

  function seconds(s) {
    if (s === undefined || s === null) { return "—"; }
    return s < 1 ? num(s * 1000, 0) + " ms" : num(s, 1) + " s";
  }

  function card(title, value, hint, key) {
    var el = C().el;
    return el("Div", {className: "card kpi-card", key: key, "data-testid": "system-card"}, el("Div", {className: "card-body p-2"}, [
      el("Div", {className: "kpi-title"}, title),
      el("Div", {className: "kpi-value", "data-testid": "system-value-" + key}, value),
      el("Div", {className: "kpi-hint"}, hint || "")
    ]));
  }

  /* rows: [[label, value], ...] -> a two-column table; `head` optional column titles. */
  function table(rows, head, empty) {
    var el = C().el;
    if (!rows.length) { return el("Div", {className: "text-muted small"}, empty || "none"); }
    var body = rows.map(function (r, i) {
      return el("Tr", {key: String(i)}, r.map(function (cell, j) {
        return el("Td", {key: String(j), className: j ? "text-end" : ""}, String(cell));
      }));
    });
    var parts = [];
    if (head) {
      parts.push(el("Thead", {key: "h"}, el("Tr", {}, head.map(function (h, j) {
        return el("Th", {key: String(j), className: j ? "text-end" : ""}, h);
      }))));
    }
    parts.push(el("Tbody", {key: "b"}, body));
    return el("Table", {className: "table table-sm mb-0 small system-table"}, parts);
  }

  function pairs(obj) {
    return Object.keys(obj || {}).sort().map(function (k) { return [k, num(obj[k], 0)]; });
  }

  function cards(s) {
    var cache = s.background_cache || {};
    var cacheValue = cache.kind === "celery" ? num(cache.queued_tasks, 0) + " queued" : num(cache.entries, 0) + " entries";
    return [
      card("Events in /s", num(s.events_in_per_s), "accepted, last " + num(s.rate_window_s, 0) + " s", "in"),
      card("Events out /s", num(s.events_out_per_s), "processed, last " + num(s.rate_window_s, 0) + " s", "out"),
      card("Ingest lag", seconds(s.ingest_lag_s), s.ingest_lag_basis || "", "lag"),
      card("Scoring", num(s.avg_score_ms, 2) + " ms",
           "per batch (avg); " + num(s.avg_score_ms_per_event, 3) + " ms per event; last " + num(s.last_score_ms, 2) + " ms", "score"),
      card("Queue depth", num(s.queue_depth, 0), "of " + num(s.queue_capacity, 0) + (s.stream ? " (stream lag + pending)" : " (ingest queue)"), "queue"),
      card("Connections", num(s.connections, 0), num(s.connections_opened_total, 0) + " opened in total", "connections"),
      card("Rejected", num(s.rejected_total, 0), "events, all reasons", "rejected"),
      card("Memory (RSS)", mb(s.memory_rss_bytes), Object.keys(s.processes || {}).length + " process(es)", "memory"),
      card("CPU", num(s.cpu_percent) + " %", "100 % = one core", "cpu"),
      card("Redis", (s.redis || {}).status || "—", (s.hub || {}).kind === "redis" ? "hub " + ((s.hub || {}).connected ? "connected" : "reconnecting") : "", "redis"),
      card("Callback cache", cacheValue, cache.kind || "", "cache")
    ];
  }

  function processes(s) {
    var procs = s.processes || {};
    return Object.keys(procs).sort().map(function (name) {
      var p = procs[name];
      var what = p.role === "worker" ? num(p.processed, 0) + " processed" + (p.leader ? " (leader)" : "")
        : num(p.connections, 0) + " sockets";
      return [name, p.role, mb(p.rss_bytes), num(p.cpu_percent) + " %", what];
    });
  }

  function rejected(s) {
    var rows = pairs(s.rejected);
    Object.keys(s.rejected_requests || {}).sort().forEach(function (k) {
      rows.push(["request: " + k, num(s.rejected_requests[k], 0)]);
    });
    return table(rows, ["reason", "count"], "nothing rejected");
  }

  function frames(s) {
    var rows = [["frames sent", num(s.frames_sent, 0)],
                ["frames encoded (once for every socket taking the same)", num(s.frames_encoded, 0)],
                ["frames shared (taken already encoded)", num(s.frames_shared, 0)],
                ["updates merged (coalesced)", num(s.messages_merged, 0)],
                ["points dropped (over the per-frame cap)", num(s.points_coalesced, 0)],
                ["resyncs (snapshots to slow clients)", num(s.resyncs, 0)], ["batches", num(s.batches, 0)],
                ["batch errors", num(s.batch_errors, 0)], ["events processed", num(s.processed, 0)]];
    if (s.stream) {
      rows.push(["stream length", num(s.stream.stream_length, 0)], ["stream lag (undelivered)", num(s.stream.lag, 0)],
                ["stream pending (unacknowledged)", num(s.stream.pending, 0)], ["dead letters", num(s.stream.dead_letters, 0)]);
    }
    return table(rows);
  }

  function redis(s) {
    var r = s.redis || {};
    var rows = [["status", r.status || "—"]];
    if (r.note) { rows.push(["note", r.note]); }
    if (r.status === "ok") {
      rows.push(["ping", num(r.ping_ms, 2) + " ms"], ["version", r.version], ["memory", mb(r.used_memory_bytes)],
                ["clients", num(r.connected_clients, 0)]);
    }
    var hub = s.hub || {};
    rows.push(["hub", (hub.kind || "—") + (hub.connected === false ? " (reconnecting)" : "")]);
    return table(rows);
  }

  function cache(s) {
    var c = s.background_cache || {};
    var rows = [["kind", c.kind || "—"]];
    if (c.kind === "celery") {
      rows.push(["queue", c.queue], ["tasks waiting", num(c.queued_tasks, 0)]);
    } else if (c.kind) {
      rows.push(["location", c.location], ["entries", num(c.entries, 0)], ["size", mb(c.volume_bytes)]);
    }
    if (c.note) { rows.push(["note", c.note]); }
    return table(rows);
  }

  function chart() {
    var x = history.map(function (h) { return window.pulseCommon.plotTime(h.t); });
    return {
      data: [{x: x, y: history.map(function (h) { return h.in; }), name: "in", type: "scatter", mode: "lines",
              line: {color: "#2c7be5", width: 2}},
             {x: x, y: history.map(function (h) { return h.out; }), name: "out", type: "scatter", mode: "lines",
              line: {color: "#2ecc71", width: 2, dash: "dot"}}],
      layout: {height: 260, margin: {l: 50, r: 10, t: 10, b: 30}, plot_bgcolor: "#fff",
               yaxis: {title: {text: "events/s"}, rangemode: "tozero"}, legend: {orientation: "h"},
               uirevision: "system"}
    };
  }

  function latestStats(frame) {
    if (frame.type === "snapshot") { return frame.stats && Object.keys(frame.stats).length ? frame.stats : null; }
    var found = null;
    (frame.messages || []).forEach(function (m) { if (m.type === "system_update") { found = m.stats; } });
    return found;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_system: {
      render: function (frame) {
        var nu = window.dash_clientside.no_update;
        var s = frame ? latestStats(frame) : null;
        if (!s) { return new Array(10).fill(nu); }
        history.push({t: new Date().toISOString(), in: s.events_in_per_s || 0, out: s.events_out_per_s || 0});
        history = history.slice(-MAX_SAMPLES);
        var via = frame.via === "poll" ? " (polling)" : "";
        return [cards(s), table(pairs(s.connections_by_channel), ["channel", "sockets"]),
                table(processes(s), ["process", "role", "memory", "CPU", ""]), rejected(s), frames(s), redis(s),
                cache(s), chart(), "updated " + window.pulseCommon.timeOf(new Date()) + via + " · " + (s.mode || "")];
      }
    }
  });
})();
