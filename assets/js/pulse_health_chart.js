/*
 * Health over time on an entity's page (pages/entity.py), from the same history as its main chart.
 *
 * With raw history every event's risk is known, so the health line is the pipeline's own definition
 * (services/scoring/health.py: an exponentially weighted average, weight 0.2, of 100 - risk_score),
 * replayed over the range and carried on with live events; it starts from the first event of the
 * range, so its first few values only approximate the entity's health before the range. With rollup
 * buckets it shows what a bucket keeps: the highest risk and the number of anomalies per bucket.
 */
(function () {
  "use strict";
  var C = window.pulseCommon, setProps = C.setProps, WEIGHT = 0.2;
  var pages = {};

  function layout(raw, view) {
    var clock = view.clock === "event" ? "event time" : "received";
    var base = {paper_bgcolor: "#fff", plot_bgcolor: "#fff", height: 240,
                margin: {l: 50, r: 50, t: 30, b: 55}, legend: {orientation: "h", y: 1, yanchor: "bottom"},
                xaxis: {type: "date", title: {text: "Time (" + C.zone() + ", " + clock + ")"}, gridcolor: "#eef0f3"},
                yaxis: {title: {text: raw ? "Health" : "Max risk"}, range: [0, 102], gridcolor: "#eef0f3"},
                uirevision: view.range + view.clock};
    if (!raw) {
      base.yaxis2 = {title: {text: "Anomalies"}, overlaying: "y", side: "right", rangemode: "tozero", showgrid: false,
                     tickformat: ",d"};
    }
    return base;
  }

  function rawTraces() {
    return [{type: "scatter", mode: "lines", name: "Health (weighted average of 100 − risk)", x: [], y: [],
             line: {color: "#2ca02c", width: 2}},
            {type: "scatter", mode: "markers", name: "Anomalies", x: [], y: [],
             marker: {size: 10, symbol: "x", color: "#d62728"}}];
  }

  /* Health values of `events` ({t, risk, anomaly}), continuing from `h` (null: start at the first). */
  function replay(p, events) {
    var health = {x: [], y: []}, anomalies = {x: [], y: []};
    events.forEach(function (e) {
      p.h = p.h === null ? 100 - e.risk : p.h * (1 - WEIGHT) + (100 - e.risk) * WEIGHT;
      var x = C.plotTime(e.t), y = Math.round(p.h * 10) / 10;
      health.x.push(x); health.y.push(y);
      if (e.anomaly) { anomalies.x.push(x); anomalies.y.push(y); }
    });
    return [health, anomalies];
  }

  function fromLive(points, view) {
    return points.map(function (m) {
      return {t: view.clock === "event" ? m.timestamp : (m.received || m.timestamp), risk: m.analysis.risk_score,
              anomaly: m.analysis.anomaly_detected};
    });
  }

  window.pulseHealthChart = {
    /* The range's history `answer` (and the live points drawn after it, `tail`). */
    history: function (cfg, answer, tail, view) {
      var raw = answer.bucket === "raw", p = pages[cfg.page] = {raw: raw, h: null};
      var data;
      if (raw) {
        var events = answer.series.map(function (e) { return {t: e.t, risk: e.risk_score || 0, anomaly: e.anomaly}; });
        var arrays = replay(p, events.concat(fromLive(tail, view)));
        data = rawTraces().map(function (trace, i) { return Object.assign(trace, arrays[i]); });
      } else {
        var x = answer.series.map(function (b) { return C.plotTime(b.t); });
        data = [{type: "scatter", mode: "lines+markers", name: "Max risk", x: x, y: answer.series.map(function (b) { return b.max_risk; }),
                 line: {color: "#fd7e14"}, marker: {size: 4}},
                {type: "bar", name: "Anomalies", x: x, y: answer.series.map(function (b) { return b.anomalies; }), yaxis: "y2",
                 marker: {color: "rgba(214, 39, 40, 0.45)"}}];
      }
      setProps(cfg.ids.health_chart, {figure: {data: data, layout: layout(raw, view)}});
    },

    /* Live mode: the health line starts with the events that arrive from now on. */
    live: function (cfg) {
      pages[cfg.page] = {raw: true, h: null};
      setProps(cfg.ids.health_chart, {figure: {data: rawTraces(), layout: layout(true, {range: "live", clock: "received"})}});
    },

    extend: function (cfg, points, view) {
      var p = pages[cfg.page];
      if (!p || !p.raw || !points.length) { return; }
      var arrays = replay(p, fromLive(points, view));
      setProps(cfg.ids.health_chart, {extendData: [{x: [arrays[0].x, arrays[1].x], y: [arrays[0].y, arrays[1].y]}, [0, 1]]});
    }
  };
})();
