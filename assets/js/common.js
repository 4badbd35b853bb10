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

  var STATUS_LABELS = {open: "Open", acknowledged: "Acknowledged", resolved: "Resolved"};
  var STATUS_RANK = {open: 0, acknowledged: 1, resolved: 2};

  /* Keep `a` by id, unless the copy held is further along: a status only moves forward, and with
   * Redis an alert_update from a web worker may overtake the worker's `alert` (always "open"). */
  function keepAlert(byId, a) {
    var held = byId[a.id];
    if (held && (STATUS_RANK[held.status] || 0) > (STATUS_RANK[a.status] || 0)) { return; }
    byId[a.id] = a;
  }

  /* "Open", or who acknowledged/resolved it and when (an alert from before the workflow is open). */
  function statusText(a) {
    var status = a.status || "open", text = STATUS_LABELS[status] || String(status);
    if (status === "acknowledged") { text += " by " + a.acknowledged_by + " · " + timeOf(a.acknowledged_at); }
    if (status === "resolved") {
      text += " by " + a.resolved_by + " · " + timeOf(a.resolved_at);
      if (a.acknowledged_by) { text += " (acknowledged by " + a.acknowledged_by + ")"; }
    }
    return text;
  }

  /* Buttons for the next steps: none once resolved. The list container handles their clicks. */
  function actionButtons(a) {
    var status = a.status || "open", buttons = [];
    var button = function (action, text, tone) {
      return el("Button", {type: "button", className: "btn btn-sm py-0 px-2 btn-outline-" + tone, key: action,
                           "data-alert-action": action, "data-alert-id": String(a.id)}, text);
    };
    if (status === "open") { buttons.push(button("acknowledge", "Acknowledge", "secondary")); }
    if (status !== "resolved") { buttons.push(button("resolve", "Resolve", "success")); }
    return el("Span", {className: "alert-actions d-flex gap-1"}, buttons);
  }

  /* Alerts held in `byId` (id -> alert), newest first, those `opts.keep` accepts (all without it);
   * with `opts.actions`, each gets Acknowledge/Resolve buttons. Older alerts beyond what can be
   * shown are forgotten, except those shown now (a filter may show old ones). */
  function renderAlerts(byId, limit, testid, emptyText, opts) {
    opts = opts || {};
    var list = Object.keys(byId).map(function (k) { return byId[k]; })
      .sort(function (a, b) { return b.id - a.id; });
    var shown = (opts.keep ? list.filter(opts.keep) : list).slice(0, limit);
    var showing = {};
    shown.forEach(function (a) { showing[a.id] = true; });
    list.slice(limit * 5).forEach(function (a) { if (!showing[a.id]) { delete byId[a.id]; } });
    if (!shown.length) { return el("Div", {className: "text-muted small p-2"}, emptyText); }
    return shown.map(function (a) {
      var status = a.status || "open";
      return el("Div", {className: "alert-item priority-" + a.priority + " status-" + status, key: String(a.id),
                        "data-testid": testid, "data-alert-id": String(a.id)}, [
        el("Div", {className: "d-flex justify-content-between"}, [
          el("Span", {className: "alert-priority"}, a.priority + " · " + a.risk_score),
          el("Span", {className: "text-muted small"}, timeOf(a.timestamp))
        ]),
        el("Div", {className: "alert-message"}, a.message),
        el("Div", {className: "alert-why small text-muted"}, a.why),
        el("Div", {className: "d-flex justify-content-between align-items-center mt-1"},
           [el("Span", {className: "alert-status small", "data-testid": "alert-status"}, statusText(a))]
             .concat(opts.actions ? [actionButtons(a)] : []))
      ]);
    });
  }

  /* A DOM element with a class and text (set as textContent, so never parsed as HTML), for the lists
   * drawn straight into containers Dash does not re-render (points, health, the stream log). */
  function node(tag, className, text) {
    var n = document.createElement(tag);
    if (className) { n.className = className; }
    if (text !== undefined) { n.textContent = text; }
    return n;
  }

  /* Go to the login page (the session ended): once. A signed-out socket says so twice (the
   * session_ended message, then close code 4001), and a second navigation would abort the first. */
  var leaving = false;
  function toLogin() {
    if (leaving) { return; }
    leaving = true;
    window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
  }

  window.pulseCommon = {
    el: el, node: node, timeOf: timeOf, toLogin: toLogin, renderAlerts: renderAlerts, keepAlert: keepAlert,
    RISK_COLORS: {LOW: "secondary", MEDIUM: "info", HIGH: "warning", CRITICAL: "danger"},
    tone: function (score) { return score < 50 ? "bad" : (score < 80 ? "warn" : "good"); }
  };
})();
