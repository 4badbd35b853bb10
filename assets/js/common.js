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

  /* The one way a time is shown, on every page: "10:46:07" when it is today, else "2 Dec 10:46:07 CET"
   * (and the year when it is not this one), in the browser's time zone with its short label. */
  var HMS = new Intl.DateTimeFormat("en-GB", {hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"});
  var DAY = new Intl.DateTimeFormat("en-GB", {day: "numeric", month: "short"});
  var DAY_YEAR = new Intl.DateTimeFormat("en-GB", {day: "numeric", month: "short", year: "numeric"});
  var ZONE = new Intl.DateTimeFormat("en-GB", {timeZoneName: "short"});

  function zoneOf(d) {
    var part = ZONE.formatToParts(d || new Date()).filter(function (p) { return p.type === "timeZoneName"; })[0];
    return part ? part.value : "";
  }

  function timeOf(iso) {
    var d = iso instanceof Date ? iso : new Date(iso);
    if (iso === null || iso === undefined || isNaN(d)) { return iso ? String(iso) : "—"; }
    var now = new Date();
    if (d.toDateString() === now.toDateString()) { return HMS.format(d); }
    var day = d.getFullYear() === now.getFullYear() ? DAY : DAY_YEAR;
    return day.format(d) + " " + HMS.format(d) + " " + zoneOf(d);
  }

  /* A time as the browser's wall clock ("2026-12-02 10:46:07.123") for Plotly, which draws ISO times
   * in UTC: charts then read in the same zone as every other time on the page. */
  function pad(n, width) { return String(n).padStart(width || 2, "0"); }
  function plotTime(iso) {
    var d = new Date(iso);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" +
      pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(), 3);
  }

  /* Times the server rendered (<time class="pulse-time" datetime=…>, components/times.py) are shown
   * the same way: their text node is rewritten in place, so React's own later updates still land. */
  function formatTimeElement(node) {
    if (!node.classList.contains("pulse-time") || !node.hasAttribute("datetime")) { return; }
    var text = timeOf(node.getAttribute("datetime"));
    if (node.firstChild && node.firstChild.nodeType === 3 && node.childNodes.length === 1) {
      if (node.firstChild.nodeValue !== text) { node.firstChild.nodeValue = text; }
    } else if (node.textContent !== text) { node.textContent = text; }
  }
  var HTML_NS = "http://www.w3.org/1999/xhtml";
  function formatTimesIn(root) {          // cheap for the many nodes a chart redraw adds: SVG is skipped
    if (!root || root.nodeType !== 1 || root.namespaceURI !== HTML_NS) { return; }
    if (root.nodeName === "TIME") { formatTimeElement(root); return; }
    var found = root.getElementsByTagName("time");
    for (var i = 0; i < found.length; i++) { formatTimeElement(found[i]); }
  }
  new MutationObserver(function (mutations) {
    for (var i = 0; i < mutations.length; i++) {
      var m = mutations[i];
      if (m.type === "characterData") {
        var parent = m.target.parentNode;
        if (parent && parent.nodeName === "TIME") { formatTimeElement(parent); }
      } else if (m.type === "attributes") { formatTimesIn(m.target); }
      else { m.addedNodes.forEach(formatTimesIn); }
    }
  }).observe(document.documentElement, {childList: true, subtree: true, characterData: true, attributes: true,
                                         attributeFilter: ["datetime"]});

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

  /* The entity an alert, point or reading is about. */
  function entityOf(r) {
    if (r.asset_id !== undefined && r.asset_id !== null) { return {asset_id: r.asset_id, sensor_id: r.sensor_id}; }
    var d = r.data || r;
    return {store: d.store, dept: d.dept};
  }

  /* Whether a record (alert, point, health record, reading) is in a selection ({store: [5], dept: []}:
   * an empty or missing list selects everything). */
  function inSelection(selection, r) {
    var e = entityOf(r), s = selection || {};
    return ["store", "dept", "asset_id", "sensor_id"].every(function (k) {
      var list = s[k] || [];
      return !list.length || list.map(String).indexOf(String(e[k])) >= 0;
    });
  }

  /* Alerts held in `byId` (id -> alert), newest first, those `opts.keep` accepts (all without it);
   * with `opts.actions`, each gets Acknowledge/Resolve buttons, with `opts.links` a link to its entity's
   * page. Older alerts beyond what can be shown are forgotten, except those shown now (a filter may show old ones). */
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
      var parts = [
        el("Div", {className: "d-flex justify-content-between"}, [
          el("Span", {className: "alert-priority"}, a.priority + " · " + a.risk_score),
          el("Span", {className: "text-muted small"}, timeOf(a.timestamp))
        ]),
        el("Div", {className: "alert-message"}, a.message),
        el("Div", {className: "alert-why small text-muted"}, a.why),
        el("Div", {className: "d-flex justify-content-between align-items-center mt-1"},
           [el("Span", {className: "alert-status small", "data-testid": "alert-status"}, statusText(a))]
             .concat(opts.actions ? [actionButtons(a)] : []))
      ];
      if (opts.links) {
        parts.push(el("A", {className: "alert-open small", href: entityUrl(entityOf(a)), "data-spa": "1",
                            "data-testid": "alert-open"}, "Open " + entityLabel(entityOf(a)) + " →"));
      }
      return el("Div", {className: "alert-item priority-" + a.priority + " status-" + status, key: String(a.id),
                        "data-testid": testid, "data-alert-id": String(a.id)}, parts);
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

  /* Go to a page of the app without reloading it (what dcc.Link does), e.g. a drill-down. */
  function go(url) {
    window.history.pushState({}, "", url);
    window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
    window.scrollTo(0, 0);
  }
  /* Links drawn outside React (tables drawn with textContent) carry data-spa: a plain click stays in the app. */
  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[data-spa]") : null;
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) { return; }
    e.preventDefault();
    go(a.getAttribute("href"));
  });

  /* The drill-down page of an entity: a store/dept (or just a store) or an asset/sensor, keeping `extra`
   * (e.g. the range) in the query. */
  function entityUrl(entity, extra) {
    var q = [];
    ["store", "dept", "asset_id", "sensor_id"].forEach(function (k) {
      if (entity[k] !== undefined && entity[k] !== null && entity[k] !== "") { q.push(k + "=" + encodeURIComponent(entity[k])); }
    });
    return "/entity?" + q.concat(extra || []).join("&");
  }
  function entityLabel(entity) {
    if (entity.asset_id !== undefined && entity.asset_id !== null) {
      return String(entity.asset_id) + (entity.sensor_id ? " / " + entity.sensor_id : "");
    }
    return "Store " + entity.store + (entity.dept !== undefined && entity.dept !== null ? " / Dept " + entity.dept : "");
  }
  function link(entity, text, className) {
    var a = node("a", className || "", text === undefined ? entityLabel(entity) : text);
    a.href = entityUrl(entity);
    a.setAttribute("data-spa", "1");
    return a;
  }

  /* fetch a JSON API; resolves to {ok, status, body}; never rejects (network errors become status 0). */
  function api(url, options) {
    options = Object.assign({credentials: "same-origin", headers: {"Accept": "application/json"}}, options || {});
    return fetch(url, options).then(function (r) {
      if (r.status === 401) { toLogin(); }            // the session is gone: sign in again
      return r.json().catch(function () { return {}; }).then(function (body) {
        return {ok: r.ok, status: r.status, body: body};
      });
    }).catch(function () { return {ok: false, status: 0, body: {}}; });
  }

  window.pulseFormatTime = timeOf;
  window.pulseCommon = {
    el: el, node: node, timeOf: timeOf, plotTime: plotTime, zone: zoneOf, toLogin: toLogin, go: go, api: api,
    entityUrl: entityUrl, entityLabel: entityLabel, entityOf: entityOf, inSelection: inSelection, link: link, renderAlerts: renderAlerts, keepAlert: keepAlert,
    RISK_COLORS: {LOW: "secondary", MEDIUM: "info", HIGH: "warning", CRITICAL: "danger"},
    tone: function (score) { return score < 50 ? "bad" : (score < 80 ? "warn" : "good"); }
  };
})();
