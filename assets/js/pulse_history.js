/*
 * A view's time range and history, shared by the Live, Assets and entity pages.
 *
 * A view is {range, from, to, clock}: range "live" (rolling, the socket only), a preset ("15m", "1h",
 * "24h", "7d": that long up to now) or "custom" (`from`, and `to` or none for "up to now"); clock
 * "received" (when the pipeline admitted an event: what the live chart runs on) or "event" (the
 * event's own timestamp). A selection is {store: [..], dept: [..]} or {asset_id: [..], sensor_id: [..]}.
 *
 * History comes from GET /api/v1/history. The bucket is chosen here by the API's documented rule (raw
 * when the range holds at most 2,000 events and raw events are still kept for it, else the finest
 * rollup with at most 2,000 points): the finest rollup is asked first and its counts say whether raw
 * fits. A range ending now then continues live without a gap or a duplicate at the seam (`Seam`).
 */
(function () {
  "use strict";
  var PRESETS = {"15m": 900, "1h": 3600, "24h": 86400, "7d": 604800};
  var BUCKET_SECONDS = {"1m": 60, "1h": 3600, "1d": 86400};
  var MAX_POINTS = 2000;

  /* {from: ms, to: ms or null (now), endsNow} of a view; null for "live" or an unusable custom range. */
  function span(view, now) {
    now = now || Date.now();
    if (!view || view.range === "live") { return null; }
    if (PRESETS[view.range]) { return {from: now - PRESETS[view.range] * 1000, to: null, endsNow: true}; }
    var from = Date.parse(view.from || ""), to = view.to ? Date.parse(view.to) : null;
    if (isNaN(from) || (to !== null && (isNaN(to) || to <= from))) { return null; }
    if (to !== null && to >= now) { to = null; }
    return {from: from, to: to, endsNow: to === null};
  }

  function selectionParams(selection) {
    return Object.keys(selection || {}).filter(function (k) { return (selection[k] || []).length; })
      .map(function (k) { return k + "=" + selection[k].map(function (v) { return encodeURIComponent(v); }).join(","); });
  }

  /* The API query of a span and selection (`extra`: more parameters, e.g. "bucket=1m"). */
  function query(s, view, selection, extra) {
    var q = ["from=" + encodeURIComponent(new Date(s.from).toISOString())];
    if (s.to !== null) { q.push("to=" + encodeURIComponent(new Date(s.to).toISOString())); }
    if (view.clock === "event") { q.push("time=event"); }
    return q.concat(selectionParams(selection), extra || []).join("&");
  }

  function finestRollup(seconds) {
    if (seconds / 60 <= MAX_POINTS) { return "1m"; }
    return seconds / 3600 <= MAX_POINTS ? "1h" : "1d";
  }

  /* The history of a span: resolves to the API's answer (+ `span`), or {error} (never rejects). */
  function load(s, view, selection, opts) {
    opts = opts || {};
    var C = window.pulseCommon, base = opts.url || "/api/v1/history";
    var extra = opts.extra || [];
    var probe = finestRollup(((s.to || Date.now()) - s.from) / 1000);
    var ask = function (bucket) {
      return C.api(base + "?" + query(s, view, selection, extra.concat(["bucket=" + bucket])));
    };
    return ask(probe).then(function (res) {
      if (!res.ok) { return {error: res}; }
      var total = res.body.series.reduce(function (n, b) { return n + b.count; }, 0);
      var rawKept = view.clock === "event" || s.from >= Date.now() - (opts.rawHours || 48) * 3600 * 1000;
      if (!rawKept || total > MAX_POINTS) { return Object.assign(res.body, {span: s}); }
      return ask("raw").then(function (raw) {
        return raw.ok ? Object.assign(raw.body, {span: s}) : {error: raw};
      });
    });
  }

  /* Where history ends and live points take over. Raw history names its events: a live point is
   * drawn unless its event_id already is (so nothing the history missed is lost, nothing is drawn
   * twice). Rollup buckets name none: live points after the history's end (the last bucket's end,
   * or the end of the range the server answered for if that comes first) are drawn. Times are the
   * view's clock: `received`, or the event's `timestamp` for clock "event". */
  function Seam(answer, clock) {
    this.event = clock === "event";
    this.ids = new Set();
    this.raw = answer.bucket === "raw";
    this.start = answer.span ? answer.span.from : -Infinity;
    this.after = -Infinity;
    if (this.raw) {
      var ids = this.ids;
      answer.series.forEach(function (p) { if (p.event_id) { ids.add(p.event_id); } });
    } else {
      var last = answer.series[answer.series.length - 1], answered = Date.parse(answer.to);
      this.after = last ? Math.min(Date.parse(last.t) + BUCKET_SECONDS[answer.bucket] * 1000, answered) : answered;
    }
  }
  Seam.prototype.accept = function (p) {
    var t = Date.parse(this.event ? p.timestamp : (p.received || p.timestamp));
    if (t < this.start || (!this.raw && !(t > this.after))) { return false; }
    if (p.event_id) {
      if (this.ids.has(p.event_id)) { return false; }
      this.ids.add(p.event_id);
    }
    return true;
  };

  /* The page's address carries its view: a shared link or a reload shows the same. Only on the
   * page it belongs to (a late call after leaving must not rewrite another page's address). */
  function urlQuery(view, selection, fixed) {
    var q = selectionParams(fixed).concat(selectionParams(selection));
    if (view.range && view.range !== "live") { q.push("range=" + view.range); }
    if (view.range === "custom") {
      if (view.from) { q.push("from=" + encodeURIComponent(view.from)); }
      if (view.to) { q.push("to=" + encodeURIComponent(view.to)); }
    }
    if (view.clock === "event") { q.push("time=event"); }
    return q.length ? "?" + q.join("&") : "";
  }

  function syncUrl(path, view, selection, fixed) {
    if (window.location.pathname !== path) { return; }
    var search = urlQuery(view, selection, fixed);
    if (search !== window.location.search) {
      window.history.replaceState(window.history.state, "", path + search);
    }
  }

  /* The CSV of what the view shows (the export streams every raw event kept; beyond that, rollups).
   * A live view exports its rolling window. */
  function exportUrl(view, selection, opts) {
    var s = span(view) || {from: Date.now() - (opts.windowSeconds || 300) * 1000, to: null};
    return "/api/v1/history/export.csv?" + query(s, view, selection, opts.extra);
  }

  /* Export links (data-export) get their address when clicked: "the last hour" means up to the click. */
  var exporters = {};
  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[data-export]") : null;
    if (a && exporters[a.id]) { a.href = exporters[a.id](); }
  }, true);

  /* What every page does when its view changes (`st` is its chart's state): the address, the export
   * link, the socket's filter, a fresh snapshot on Refresh. True when the selection changed. */
  function applyView(cfg, socketCfg, st, view, selection, refresh, exportExtra) {
    var changed = JSON.stringify(selection) !== JSON.stringify(st.selection);
    st.view = view;
    st.selection = selection;
    st.held = [];
    syncUrl(cfg.path, view, cfg.filter_fields.length ? selection : {}, cfg.fixed);
    exporters[cfg.view_ids.export] = function () {
      return exportUrl(st.view, st.selection, {windowSeconds: cfg.window_seconds, extra: exportExtra});
    };
    window.pulseSocket.setFilter(socketCfg, selection);
    if (refresh) { window.pulseSocket.refresh(socketCfg); }
    return changed;
  }

  /* Pause or resume a chart (`st` its state). On resume, what was held while paused and `accept`s
   * (the chart's seam) goes to `draw`, oldest first. True while paused. */
  function togglePause(st, accept, draw) {
    st.paused = !st.paused;
    if (!st.paused && st.held.length) {
      var held = st.held.sort(window.pulseCommon.byReceived).filter(accept);
      st.held = [];
      draw(held);
    }
    return st.paused;
  }

  /* Let the page (and tests) know when a view's chart is on screen (its figure's layout.meta.req is
   * `req`): data-rendered="<range>:<req>" on the graph, and window.pulseTimings[page] = {range, ms from
   * picking the view, ...extra}. `st` is the chart's state (a newer request ends the wait). */
  function whenDrawn(cfg, st, req, t0, extra) {
    var tries = 0;
    (function check() {
      var holder = document.getElementById(cfg.ids.chart), gd = holder && holder.querySelector(".js-plotly-plot");
      var meta = gd && gd._fullLayout && gd._fullLayout.meta;
      if (req !== st.req || tries++ > 600) { return; }
      if (!meta || meta.req !== req) { window.requestAnimationFrame(check); return; }
      window.pulseTimings = Object.assign({}, window.pulseTimings);
      window.pulseTimings[cfg.page] = Object.assign({range: st.view.range, ms: Math.round(performance.now() - t0)}, extra);
      holder.setAttribute("data-rendered", st.view.range + ":" + req);
    })();
  }

  window.pulseHistory = {
    PRESETS: PRESETS, span: span, load: load, Seam: Seam, applyView: applyView, togglePause: togglePause,
    whenDrawn: whenDrawn,
    /* A view picked in the controls: custom times typed as "2026-12-01 08:00" (the browser's zone) or ISO. */
    parseTyped: function (text) {
      text = (text || "").trim();
      if (!text || text.toLowerCase() === "now") { return null; }
      var m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
      var d = m ? new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)) : new Date(text);
      return isNaN(d) ? undefined : d.toISOString();
    },
    typed: function (iso) {
      if (!iso) { return ""; }
      var d = new Date(iso), C = window.pulseCommon;
      return isNaN(d) ? "" : C.plotTime(d).slice(0, 16);
    }
  };
})();
