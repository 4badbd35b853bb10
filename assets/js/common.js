/*
 * Helpers shared by the clientside renderers (pulse_live.js, pulse_assets.js). Loaded first: Dash
 * serves assets in name order. Everything is built as React elements with text children, so data
 * from the server is always shown as text, never interpreted as HTML.
 */
(function () {
  "use strict";
  var H = "dash_html_components";

  function el(type, props, children) {
    var p = Object.assign({}, props || {});
    if (children !== undefined) { p.children = children; }
    return {type: type, namespace: H, props: p};
  }

  function timeOf(iso) {
    var d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleTimeString();
  }

  /* Alerts held in `byId` (id -> alert), newest first; older ones beyond what can be shown are forgotten. */
  function renderAlerts(byId, limit, testid, emptyText) {
    var list = Object.keys(byId).map(function (k) { return byId[k]; })
      .sort(function (a, b) { return b.id - a.id; });
    list.slice(limit * 5).forEach(function (a) { delete byId[a.id]; });
    list = list.slice(0, limit);
    if (!list.length) { return el("Div", {className: "text-muted small p-2"}, emptyText); }
    return list.map(function (a) {
      return el("Div", {className: "alert-item priority-" + a.priority, key: String(a.id), "data-testid": testid}, [
        el("Div", {className: "d-flex justify-content-between"}, [
          el("Span", {className: "alert-priority"}, a.priority + " · " + a.risk_score),
          el("Span", {className: "text-muted small"}, timeOf(a.timestamp))
        ]),
        el("Div", {className: "alert-message"}, a.message),
        el("Div", {className: "alert-why small text-muted"}, a.why)
      ]);
    });
  }

  window.pulseCommon = {
    el: el, timeOf: timeOf, renderAlerts: renderAlerts,
    RISK_COLORS: {LOW: "secondary", MEDIUM: "info", HIGH: "warning", CRITICAL: "danger"},
    tone: function (score) { return score < 50 ? "bad" : (score < 80 ? "warn" : "good"); }
  };
})();
