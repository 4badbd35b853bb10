/*
 * Per-sensor history on the sensor screens (components/sensor_view.py): each chosen sensor over the
 * view's range (GET /api/v1/history?sensor_id=…, raw readings or the mean per bucket), one stacked
 * axis per sensor type with its unit, anomalies marked per type; a range ending now carries on with
 * the live readings through one pulseHistory.Seam per sensor (nothing twice, nothing missed). The
 * sensors: those chosen, else those of the chosen assets (their types and units come from the
 * readings the socket sent); with nothing chosen the chart says how to choose.
 */
(function () {
  "use strict";
  var C = window.pulseCommon, H = window.pulseHistory, setProps = C.setProps, byReceived = C.byReceived;
  var MAX_SENSORS = 24, CHART_MS = C.CHART_MS, HISTORY_MAX_POINTS = 50000;
  var pages = {};

  function fresh() {
    return {view: {range: "live", clock: "received"}, selection: {}, mode: "live", endsNow: true, req: 0, loading: false,
            seams: {}, charted: [], traceOf: {}, anomalyOf: {}, buffer: [], recent: [], held: [], paused: false,
            pending: null, drawnAt: 0, figure: null};
  }
  function page(cfg) { return pages[cfg.page] || (pages[cfg.page] = fresh()); }
  function note(cfg, text) { setProps(cfg.ids.chart_note, {children: text}); }
  function when(st, r) { return st.view.clock === "event" ? r.timestamp : (r.received || r.timestamp); }

  /* The sensors to chart, sorted by type: [{sensor_id, asset_id, sensor_type, unit}]. */
  function chartSensors(cfg, st) {
    var known = window.pulseAssetsFrames.readings(cfg), sel = st.selection;
    if (!(sel.sensor_id || []).length && !(sel.asset_id || []).length) { return []; }
    return Object.keys(known).map(function (k) { return known[k]; })
      .filter(function (r) { return C.inSelection(sel, r); })
      .sort(function (a, b) { return String(a.sensor_type).localeCompare(b.sensor_type) || String(a.sensor_id).localeCompare(b.sensor_id); })
      .slice(0, MAX_SENSORS);
  }

  /* An empty figure for `sensors`: one axis per type, a trace per sensor, an anomaly trace per type. */
  function skeleton(cfg, st, sensors, s, req) {
    var types = [], traces = [], layout;
    sensors.forEach(function (r) { if (types.indexOf(r.sensor_type) < 0) { types.push(r.sensor_type); } });
    st.traceOf = {};
    st.anomalyOf = {};
    layout = {height: 80 + 170 * types.length, margin: {l: 70, r: 10, t: 30, b: 40}, paper_bgcolor: "#fff",
              plot_bgcolor: "#fff", legend: {orientation: "h", y: 1, yanchor: "bottom"}, hovermode: "closest",
              meta: {req: req, range: st.view.range}, uirevision: st.view.range + JSON.stringify(st.selection) + st.view.clock,
              xaxis: {type: "date", anchor: "y" + (types.length > 1 ? types.length : ""), gridcolor: "#eef0f3",
                      title: {text: "Time (" + C.zone() + ", " + (st.view.clock === "event" ? "event time" : "received") + ")"}}};
    if (s && s.to) { layout.xaxis.range = [C.plotTime(new Date(s.from)), C.plotTime(new Date(s.to))]; layout.xaxis.autorange = false; }
    types.forEach(function (type, i) {
      var n = types.length, unit = (sensors.filter(function (r) { return r.sensor_type === type; })[0] || {}).unit;
      layout["yaxis" + (i ? i + 1 : "")] = {domain: [(n - 1 - i) / n + 0.06 / n, (n - i) / n - 0.03 / n], gridcolor: "#eef0f3",
                                             title: {text: type + (unit ? " (" + unit + ")" : ""), font: {size: 12}}};
    });
    sensors.forEach(function (r) {
      st.traceOf[r.sensor_id] = traces.length;
      traces.push({type: "scatter", mode: "lines+markers", name: String(r.sensor_id), x: [], y: [], text: [],
                   yaxis: "y" + (types.indexOf(r.sensor_type) ? types.indexOf(r.sensor_type) + 1 : ""),
                   marker: {size: 3}, line: {width: 1.5}, hovertemplate: "%{y} %{text}<extra>" + String(r.sensor_id) + "</extra>"});
    });
    types.forEach(function (type, i) {
      st.anomalyOf[type] = traces.length;
      traces.push({type: "scatter", mode: "markers", name: "Anomalies", legendgroup: "anomalies", showlegend: i === 0,
                   x: [], y: [], text: [], yaxis: "y" + (i ? i + 1 : ""), marker: {size: 10, symbol: "x", color: "#d62728"},
                   hovertemplate: "%{y} %{text}<extra>anomaly</extra>"});
    });
    return {data: traces, layout: layout};
  }

  function push(trace, x, y, text) { trace.x.push(x); trace.y.push(y); trace.text.push(text || ""); }

  function addLive(st, fig, readings) {
    readings.forEach(function (r) {
      var i = st.traceOf[r.sensor_id];
      if (i === undefined) { return; }
      var x = C.plotTime(when(st, r));
      push(fig.data[i], x, r.value, r.unit || "");
      if (r.analysis.anomaly_detected) { push(fig.data[st.anomalyOf[r.sensor_type]], x, r.value, String(r.sensor_id)); }
    });
  }

  function addHistory(st, fig, sensor, answer) {
    var trace = fig.data[st.traceOf[sensor.sensor_id]], anomalies = fig.data[st.anomalyOf[sensor.sensor_type]];
    if (answer.bucket !== "raw") { trace.mode = "lines"; }
    answer.series.forEach(function (p) {
      var x = C.plotTime(p.t), raw = answer.bucket === "raw", y = raw ? p.value : p.mean;
      push(trace, x, y, raw ? (sensor.unit || "") : "mean of " + p.count + " (" + p.min + " to " + p.max + ")");
      if (raw ? p.anomaly : p.anomalies > 0) { push(anomalies, x, y, String(sensor.sensor_id) + (raw ? "" : ": " + p.anomalies)); }
    });
  }

  function draw(cfg, st) {
    var sensors = chartSensors(cfg, st), s = H.span(st.view), req = ++st.req, t0 = performance.now();
    st.charted = sensors.map(function (r) { return r.sensor_id; });
    st.pending = null;
    st.seams = {};
    var fig = skeleton(cfg, st, sensors, s, req);
    if (!sensors.length) {
      st.loading = false;
      var empty = (st.selection.asset_id || []).length || (st.selection.sensor_id || []).length;
      fig.layout.annotations = [{text: empty ? "No readings of this selection yet." : "Choose an asset or a sensor above (or open an asset) to see its history.",
                                 showarrow: false, font: {color: "#6c757d"}}];
      fig.layout.height = 160;
      fig.layout.xaxis = {visible: false};
      fig.layout.yaxis = {visible: false};
      setProps(cfg.ids.chart, {figure: fig});
      note(cfg, "");
      return;
    }
    if (!s) {
      st.mode = "live";
      st.loading = false;
      addLive(st, fig, st.recent);
      setProps(cfg.ids.chart, {figure: fig});
      H.whenDrawn(cfg, st, req, t0, {sensors: sensors.length});
      note(cfg, "Live: readings as they arrive");
      if (window.pulseHealthChart && cfg.ids.health_chart) { window.pulseHealthChart.live(cfg); }
      return;
    }
    st.mode = "history";
    st.endsNow = s.endsNow;
    st.loading = true;
    st.buffer = st.recent.slice();
    note(cfg, "Loading the history…");
    var opts = {rawHours: cfg.raw_hours, extra: ["profile=sensor"]};
    var loads = sensors.map(function (r) { return H.load(s, st.view, {sensor_id: [r.sensor_id]}, opts); });
    if (cfg.ids.health_chart) { loads.push(H.load(s, st.view, st.selection, opts)); }
    Promise.all(loads).then(function (answers) {
      if (req !== st.req) { return; }
      st.loading = false;
      var failed = answers.filter(function (a) { return a.error; }).length;
      if (failed) { note(cfg, "Could not load the history of " + failed + " of " + answers.length + " series."); return; }
      var buckets = {};
      sensors.forEach(function (r, i) {
        st.seams[r.sensor_id] = new H.Seam(answers[i], st.view.clock);
        buckets[answers[i].bucket] = true;
        addHistory(st, fig, r, answers[i]);
      });
      var tail = st.endsNow ? st.buffer.sort(byReceived).filter(accept.bind(null, st)) : [];
      st.buffer = [];
      addLive(st, fig, tail);
      setProps(cfg.ids.chart, {figure: fig});
      H.whenDrawn(cfg, st, req, t0, {sensors: sensors.length, points: fig.data.reduce(function (n, t) { return n + t.x.length; }, 0)});
      note(cfg, sensors.length + " sensors · " + Object.keys(buckets).map(function (b) { return b === "raw" ? "every reading" : "mean per " + b; }).join(", ") +
           (st.endsNow ? " · live from " + C.timeOf(answers[0].to) : ""));
      if (cfg.ids.health_chart && window.pulseHealthChart) { window.pulseHealthChart.history(cfg, answers[answers.length - 1], tail, st.view); }
    });
  }

  function accept(st, r) { var seam = st.seams[r.sensor_id]; return !!seam && seam.accept(r); }

  function flush(cfg, st, force) {
    var now = Date.now();
    if (!st.pending || (!force && now - st.drawnAt < CHART_MS)) { return; }
    var pending = st.pending, update = {x: [], y: [], text: []}, traces = [];
    st.pending = null;
    Object.keys(pending).forEach(function (i) {
      update.x.push(pending[i].x); update.y.push(pending[i].y); update.text.push(pending[i].text); traces.push(+i);
    });
    st.drawnAt = now;
    if (traces.length) {
      setProps(cfg.ids.chart, {extendData: [update, traces, st.mode === "live" ? cfg.chart_max_points : HISTORY_MAX_POINTS]});
    }
  }

  function extend(cfg, st, readings, force) {
    var fig = {data: []};
    readings.forEach(function (r) {
      [st.traceOf[r.sensor_id], st.anomalyOf[r.sensor_type]].forEach(function (i) {
        if (i !== undefined && !fig.data[i]) { fig.data[i] = {x: [], y: [], text: []}; }
      });
    });
    addLive(st, fig, readings);
    st.pending = st.pending || {};
    fig.data.forEach(function (t, i) {
      if (!t || !t.x.length) { return; }
      var p = st.pending[i] || (st.pending[i] = {x: [], y: [], text: []});
      ["x", "y", "text"].forEach(function (k) { Array.prototype.push.apply(p[k], t[k]); });
    });
    flush(cfg, st, force);
    if (window.pulseHealthChart && cfg.ids.health_chart) { window.pulseHealthChart.extend(cfg, readings, st.view); }
  }

  window.pulseSensorChart = {
    state: page,

    take: function (cfg, readings, snapshot) {
      var st = page(cfg);
      var seen = {};
      st.recent.forEach(function (r) { seen[r.event_id] = true; });
      readings.forEach(function (r) { if (!seen[r.event_id]) { st.recent.push(r); } });
      if (st.recent.length > 2000) { st.recent = st.recent.slice(-2000); }
      var wanted = chartSensors(cfg, st).map(function (r) { return r.sensor_id; });
      if (JSON.stringify(wanted) !== JSON.stringify(st.charted) || (snapshot && st.mode === "live")) { draw(cfg, st); return; }
      if (st.loading) { Array.prototype.push.apply(st.buffer, readings); return; }
      if (st.mode === "history" && !st.endsNow) { return; }
      if (st.paused) { Array.prototype.push.apply(st.held, readings); st.held = st.held.slice(-5000); return; }
      if (st.mode === "history") { readings = readings.slice().sort(byReceived).filter(accept.bind(null, st)); }
      extend(cfg, st, readings, false);
    },

    setView: function (cfg, socketCfg, figure, view, selection, refresh, mount) {
      var st = mount ? (pages[cfg.page] = fresh()) : page(cfg);
      if (H.applyView(cfg, socketCfg, st, view, selection, refresh, ["profile=sensor"])) {
        st.recent = st.recent.filter(function (r) { return C.inSelection(selection, r); });
        window.pulseAssetsFrames.selectionChanged(cfg, selection);
      }
      draw(cfg, st);
    },

    togglePause: function (cfg) {
      var st = page(cfg);
      return H.togglePause(st, function (r) { return st.mode === "live" || (st.endsNow && accept(st, r)); },
                           function (held) { extend(cfg, st, held, true); });
    }
  };
})();
