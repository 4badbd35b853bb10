/*
 * Clientside rendering of the Market page (pages/market.py): value, change since the open and a
 * sparkline per indicator, and the history chart. The history (newest last, at most 360 points)
 * lives in this closure; snapshots replace it, market_update messages append to it.
 */
(function () {
  "use strict";
  var MAX = 360;
  var history = [];

  var NBSP = "\u00a0";

  function fmt(value, format) {      // as components/formats.py: no-break text inside a number
    return format === "percent" ? window.pulseFormat.percent(value) : window.pulseFormat.number(value, 1);
  }

  function fmtChange(delta, format) {
    if (delta === null || delta === undefined) { return ""; }
    var sign = delta > 0 ? "+" : (delta < 0 ? "\u2212" : "\u00b1");
    var size = Math.abs(delta);
    var text = format === "percent" ? window.pulseFormat.number(size * 100, 2) + NBSP + "pp"
      : window.pulseFormat.number(size, 2);
    return sign + text + " since open";
  }

  function spark(key) {
    var color = "#6c8ebf";
    return {
      data: [{x: history.map(function (h) { return h.timestamp; }), y: history.map(function (h) { return h[key]; }),
              type: "scatter", mode: "lines", line: {width: 1.5, color: color}, hoverinfo: "skip"}],
      layout: {height: 48, margin: {l: 0, r: 0, t: 2, b: 2}, showlegend: false,
               xaxis: {visible: false}, yaxis: {visible: false}, paper_bgcolor: "rgba(0,0,0,0)",
               plot_bgcolor: "rgba(0,0,0,0)"}
    };
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_market: {
      render: function (frame, cfg) {
        var nu = window.dash_clientside.no_update;
        var n = cfg.indicators.length;
        if (!frame) { return new Array(3 * n + 2).fill(nu); }
        var latest = null;
        if (frame.type === "snapshot") {
          var m = frame.market || {};
          history = (m.history || []).slice(-MAX);
          latest = m.latest;
        } else {
          (frame.messages || []).forEach(function (msg) {
            if (msg.type !== "market_update") { return; }
            history.push(Object.assign({timestamp: msg.timestamp}, msg.values));
            latest = msg;
          });
          history = history.slice(-MAX);
        }
        if (!latest && frame.type !== "snapshot") { return new Array(3 * n + 2).fill(nu); }
        var values = cfg.indicators.map(function (k) { return latest ? fmt(latest.values[k.key], k.format) : "—"; });
        var changes = cfg.indicators.map(function (k) {
          return latest ? fmtChange(latest.change_since_open[k.key], k.format) : "";
        });
        var sparks = cfg.indicators.map(function (k) { return spark(k.key); });
        var via = frame.via === "poll" ? " (polling)" : "";
        var updated = latest ? "updated " + window.pulseCommon.timeOf(new Date()) + via
          : "no market data yet: the values appear with the feed's first report (an admin can check it on System)";
        return values.concat(changes, sparks, [history.slice(), updated]);
      },
      history: function (data, key, cfg) {
        var rows = data || [];
        var percent = cfg.indicators.some(function (k) { return k.key === key && k.format === "percent"; });
        return {
          data: [{x: rows.map(function (h) { return window.pulseCommon.plotTime(h.timestamp); }),
                  y: rows.map(function (h) { return percent ? h[key] * 100 : h[key]; }),
                  type: "scatter", mode: "lines", name: cfg.labels[key], line: {color: "#2c7be5", width: 2}}],
          layout: {height: 320, margin: {l: 60, r: 10, t: 10, b: 40}, plot_bgcolor: "rgba(0,0,0,0)",
                   paper_bgcolor: "rgba(0,0,0,0)",
                   yaxis: {title: {text: percent ? cfg.labels[key] + " (%)" : cfg.labels[key]}},
                   uirevision: key}
        };
      }
    }
  });
})();
