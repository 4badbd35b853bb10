/*
 * The weekly-sales chart of the Live page and of a store/dept page (pages/live.py, pages/entity.py).
 *
 * Live (rolling): the socket's points, extended in place (`extendData`, at most every pulseCommon.CHART_MS), the
 * newest `chart_max_points` kept. A range: its history from the API (raw points, or per-bucket mean
 * and min-max band), anomalies marked; when the range ends now the chart carries on with live points.
 * Live points that arrive while the history is on its way are held, then drawn after it through a
 * `pulseHistory.Seam`: nothing twice, nothing missed. Pause holds the live points until Resume.
 * Traces (pages/live.py, initial_figure): 0 events, 1 anomalies, 2 window average, 3/4 bucket min/max
 * band, 5 bucket mean. Times are drawn on the browser's clock (pulseCommon.plotTime), received time
 * unless the view says event time.
 */
(function () {
  "use strict";
  var C = window.pulseCommon, H = window.pulseHistory, setProps = C.setProps, byReceived = C.byReceived;
  var CHART_MS = C.CHART_MS, HISTORY_MAX_POINTS = 100000, HELD_MAX = 5000;
  var BUCKET_NAMES = {"1m": "per minute", "1h": "per hour", "1d": "per day"};
  var pages = {};

  function fresh() {
    return {view: {range: "live", clock: "received"}, selection: {}, mode: "live", endsNow: true, req: 0,
            loading: false, seam: null, recent: [], buffer: [], held: [], paused: false, pending: null, drawnAt: 0,
            kpis: null};
  }
  function page(cfg) { return pages[cfg.page] || (pages[cfg.page] = fresh()); }

  function note(cfg, text) { if (cfg.ids.chart_note) { setProps(cfg.ids.chart_note, {children: text}); } }

  function when(st, p) { return st.view.clock === "event" ? p.timestamp : (p.received || p.timestamp); }

  /* Live points into x/y/customdata arrays of the events and anomalies traces. */
  function pointArrays(st, points) {
    var ev = {x: [], y: [], customdata: []}, an = {x: [], y: [], customdata: []};
    points.forEach(function (p) {
      var x = C.plotTime(when(st, p)), y = p.data.weekly_sales, cd = [p.data.store, p.data.dept];
      ev.x.push(x); ev.y.push(y); ev.customdata.push(cd);
      if (p.analysis.anomaly_detected) { an.x.push(x); an.y.push(y); an.customdata.push(cd); }
    });
    return [ev, an];
  }

  function historyArrays(answer) {
    var empty = function () { return {x: [], y: [], customdata: [], text: []}; };
    var arrays = [empty(), empty(), empty(), empty(), empty(), empty()];
    answer.series.forEach(function (p) {
      var x = C.plotTime(p.t);
      if (answer.bucket === "raw") {
        arrays[0].x.push(x); arrays[0].y.push(p.value); arrays[0].customdata.push([p.store, p.dept]);
        if (p.anomaly) { arrays[1].x.push(x); arrays[1].y.push(p.value); arrays[1].customdata.push([p.store, p.dept]); }
        return;
      }
      arrays[3].x.push(x); arrays[3].y.push(p.min);
      arrays[4].x.push(x); arrays[4].y.push(p.max);
      arrays[5].x.push(x); arrays[5].y.push(p.mean); arrays[5].text.push(p.count + " events");
      if (p.anomalies > 0) {
        arrays[1].x.push(x); arrays[1].y.push(p.mean); arrays[1].customdata.push([null, null]);
        arrays[1].text.push(p.anomalies + (p.anomalies === 1 ? " anomaly" : " anomalies"));
      }
    });
    return arrays;
  }

  /* What an empty chart says instead of blank axes: why it is empty and what to do. */
  var EMPTY = {text: "No events in this view yet.<br>Live data appears here as it arrives: an admin picks the source " +
                     "(Admin \u2192 Data source),<br>or scripts post events to /api/v1/iot. A filter or range may also exclude them.",
               showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: {size: 13, color: "#6c757d"},
               bgcolor: "rgba(0,0,0,0)"};

  function figureOf(st, figure, arrays, s, req) {
    var zone = C.zone(), clock = st.view.clock === "event" ? "event time" : "received";
    var xaxis = Object.assign({}, figure.layout.xaxis, {title: {text: "Time (" + zone + ", " + clock + ")"}, type: "date"});
    if (s && s.to) { xaxis.range = [C.plotTime(new Date(s.from)), C.plotTime(new Date(s.to))]; xaxis.autorange = false; }
    else { delete xaxis.range; xaxis.autorange = true; }       // up to now: the data's extent, growing live
    var empty = !arrays.some(function (a) { return a && a.x && a.x.length; });
    var layout = Object.assign({}, figure.layout, {xaxis: xaxis, meta: {req: req, range: st.view.range},
      uirevision: st.view.range + JSON.stringify(st.selection) + st.view.clock, annotations: empty ? [EMPTY] : []});
    return {data: figure.data.map(function (trace, i) {
      var a = arrays[i] || {x: [], y: []};
      return Object.assign({}, trace, {x: a.x, y: a.y, customdata: a.customdata || [], text: a.text || []});
    }), layout: layout};
  }

  /* The live chart from the points held; what is drawn is remembered (a Seam without history), so a
   * point that comes again (a snapshot after a pause, a resync) is not drawn twice. */
  function liveFigure(st, figure, req) {
    st.seam = new H.Seam({bucket: "raw", series: [], span: null}, st.view.clock);
    var arrays = pointArrays(st, st.recent.filter(function (p) { return st.seam.accept(p); }));
    var avg = {x: [], y: []};
    if (st.kpis && st.kpis.avg_weekly_sales !== null && st.kpis.avg_weekly_sales !== undefined) {
      avg.x.push(C.plotTime(new Date())); avg.y.push(st.kpis.avg_weekly_sales);
    }
    return figureOf(st, figure, [arrays[0], arrays[1], avg], null, req);
  }

  function loadHistory(cfg, st, figure, s) {
    var req = ++st.req, t0 = performance.now();
    st.loading = true;
    st.buffer = st.recent.slice();          // what came just before the request may not be stored yet
    note(cfg, "Loading the history…");
    H.load(s, st.view, st.selection, {rawHours: cfg.raw_hours}).then(function (answer) {
      if (req !== st.req) { return; }       // another view was picked meanwhile
      var fetchMs = Math.round(performance.now() - t0);
      st.loading = false;
      if (answer.error) {
        note(cfg, "Could not load the history (" + (answer.error.status ? "HTTP " + answer.error.status : "offline") + ").");
        return;
      }
      st.seam = new H.Seam(answer, st.view.clock);
      var arrays = historyArrays(answer), tail = [];
      if (st.endsNow) { tail = st.buffer.sort(byReceived).filter(function (p) { return st.seam.accept(p); }); }
      st.buffer = [];
      var live = pointArrays(st, tail);
      [0, 1].forEach(function (i) {
        ["x", "y", "customdata"].forEach(function (k) { Array.prototype.push.apply(arrays[i][k], live[i][k]); });
      });
      setProps(cfg.ids.chart, {figure: figureOf(st, figure, arrays, s, req)});
      H.whenDrawn(cfg, st, req, t0, {points: answer.series.length + tail.length, fetch_ms: fetchMs});
      var bucket = answer.bucket === "raw" ? "every event" : "mean and min-max " + BUCKET_NAMES[answer.bucket];
      note(cfg, answer.series.length.toLocaleString("en-US") + (answer.bucket === "raw" ? " events" : " buckets") +
           " · " + bucket + (st.endsNow ? " · live from " + C.timeOf(answer.to) : "") +
           (answer.truncated ? " · cut at the first " + answer.series.length : ""));
      if (window.pulseHealthChart && cfg.ids.health_chart) { window.pulseHealthChart.history(cfg, answer, tail, st.view); }
      if (answer.bucket === "raw" && st.endsNow) { window.pulseLiveFrames.history(cfg, answer.series); }
    });
  }

  /* Pending live points, drawn at most every CHART_MS: redrawing a plot costs far more than a table row. */
  function extend(cfg, st, parts, force) {
    var pending = st.pending || (st.pending = [0, 1, 2].map(function () { return {x: [], y: [], customdata: []}; }));
    parts.forEach(function (p, i) {
      ["x", "y", "customdata"].forEach(function (k) { Array.prototype.push.apply(pending[i][k], p[k] || p.x.map(function () { return null; })); });
    });
    var now = Date.now();
    if (!force && now - st.drawnAt < CHART_MS) { return window.dash_clientside.no_update; }
    var update = {x: [], y: [], customdata: []}, traces = [];
    pending.forEach(function (p, i) {
      if (p.x.length) { update.x.push(p.x); update.y.push(p.y); update.customdata.push(p.customdata); traces.push(i); }
    });
    st.pending = null;
    if (!traces.length) { return window.dash_clientside.no_update; }
    st.drawnAt = now;
    return [update, traces, st.mode === "live" ? cfg.chart_max_points : HISTORY_MAX_POINTS];
  }

  function remember(cfg, st, points) {
    var seen = {};
    st.recent.forEach(function (p) { seen[p.event_id] = true; });
    points.forEach(function (p) { if (!seen[p.event_id]) { st.recent.push(p); } });
    if (st.recent.length > cfg.chart_max_points) { st.recent = st.recent.slice(-cfg.chart_max_points); }
  }

  /* New points, the extendData to draw them (or a new figure), as [extendData, figure]. */
  function take(cfg, st, figure, points, kpis, snapshot) {
    var nu = window.dash_clientside.no_update;
    if (kpis) { st.kpis = kpis; }
    points = points.filter(function (p) { return C.inSelection(st.selection, p); });
    remember(cfg, st, points);
    if (st.loading) { Array.prototype.push.apply(st.buffer, points); return [nu, nu]; }
    if (!st.seam || (st.mode === "history" && !st.endsNow)) { return [nu, nu]; }
    if (st.paused) {
      Array.prototype.push.apply(st.held, points);
      if (st.held.length > HELD_MAX) { st.held = st.held.slice(-HELD_MAX); }
      return [nu, nu];
    }
    if (st.mode === "live" && snapshot) { st.pending = null; return [nu, liveFigure(st, figure, st.req)]; }
    points = points.sort(byReceived).filter(function (p) { return st.seam.accept(p); });
    if (st.mode === "live" && st.seam.ids.size > 5 * cfg.chart_max_points) {   // only the points held can come again
      st.seam.ids = new Set(st.recent.map(function (p) { return p.event_id; }));
    }
    var parts = pointArrays(st, points), avg = {x: [], y: []};
    if (st.mode === "live" && kpis && kpis.avg_weekly_sales !== null && kpis.avg_weekly_sales !== undefined) {
      avg.x.push(C.plotTime(new Date())); avg.y.push(kpis.avg_weekly_sales);
    }
    if (window.pulseHealthChart && cfg.ids.health_chart) {
      window.pulseHealthChart.extend(cfg, points, st.view);
    }
    return [extend(cfg, st, parts.concat([avg])), nu];
  }

  window.pulseLiveChart = {
    take: take,
    state: page,

    /* A view picked (or the page opened): address, the socket's filter, then the chart. */
    setView: function (cfg, socketCfg, figure, view, selection, refresh, mount) {
      var st = mount ? (pages[cfg.page] = fresh()) : page(cfg);
      if (H.applyView(cfg, socketCfg, st, view, selection, refresh)) {
        st.recent = [];
        window.pulseLiveFrames.selectionChanged(cfg, selection);
      }
      var s = H.span(view);
      if (!s) {
        st.mode = "live";
        st.loading = false;
        st.pending = null;
        var req = ++st.req;
        setProps(cfg.ids.chart, {figure: liveFigure(st, figure, req)});
        H.whenDrawn(cfg, st, req, performance.now(), {points: st.recent.length});
        note(cfg, "Live: the newest " + cfg.chart_max_points + " events as they arrive");
        if (window.pulseHealthChart && cfg.ids.health_chart) { window.pulseHealthChart.live(cfg); }
        return;
      }
      st.mode = "history";
      st.endsNow = s.endsNow;
      st.pending = null;                    // live points not drawn yet: the history has them, or the seam will
      loadHistory(cfg, st, figure, s);
    },

    togglePause: function (cfg) {
      var st = page(cfg);
      return H.togglePause(st, function (p) { return !!st.seam && (st.mode === "live" || st.endsNow) && st.seam.accept(p); },
                           function (held) {
                             var update = extend(cfg, st, pointArrays(st, held).concat([{x: [], y: []}]), true);
                             if (update !== window.dash_clientside.no_update) { setProps(cfg.ids.chart, {extendData: update}); }
                           });
    }
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_live_chart: {
      /* A click on a point opens its store/dept; a bucket opens the page's single store/dept, if it has one. */
      click: function (clickData, cfg) {
        var point = clickData && clickData.points && clickData.points[0];
        if (!point || cfg.fixed_entity) { return window.dash_clientside.no_update; }
        var cd = point.customdata, st = page(cfg), sel = st.selection;
        var entity = cd && cd[0] !== null && cd[0] !== undefined ? {store: cd[0], dept: cd[1]} :
          ((sel.store || []).length === 1 ? {store: sel.store[0], dept: (sel.dept || []).length === 1 ? sel.dept[0] : null} : null);
        if (entity) { C.go(C.entityUrl(entity, st.view.range !== "live" ? ["range=" + st.view.range] : [])); }
        return window.dash_clientside.no_update;
      }
    }
  });
})();
