/*
 * Helpers shared by the clientside renderers (pulse_live.js, pulse_assets.js, pulse_alerts.js, ...).
 * Loaded first: Dash serves assets in name order. Everything is built as React elements with text
 * children or as DOM nodes with text nodes, so data from the server is always shown as text, never
 * interpreted as HTML.
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

  /* Dash 4's dropdown tabs to a hidden, aria-hidden input that forwards focus to its trigger button: a
   * focusable element hidden from assistive technology (axe: aria-hidden-focus). Make the trigger itself
   * the tab stop instead (same order, same keys), and keep it so when the dropdown resets its tabindex. */
  function fixDropdownFocus(root) {
    if (!root || root.nodeType !== 1) { return; }
    var targets = root.classList && root.classList.contains("dash-dropdown-focus-target") ? [root]
      : root.querySelectorAll ? root.querySelectorAll(".dash-dropdown-focus-target") : [];
    for (var i = 0; i < targets.length; i++) {
      var t = targets[i], trigger = t.nextElementSibling;
      if (t.tabIndex !== -1) { t.tabIndex = -1; }
      if (trigger && trigger.nodeName === "BUTTON" && !trigger.disabled && trigger.tabIndex !== 0) { trigger.tabIndex = 0; }
    }
  }
  new MutationObserver(function (mutations) {
    for (var i = 0; i < mutations.length; i++) {
      var m = mutations[i];
      if (m.type === "attributes") { fixDropdownFocus(m.target.parentNode); } else { m.addedNodes.forEach(fixDropdownFocus); }
    }
  }).observe(document.documentElement, {childList: true, subtree: true, attributes: true, attributeFilter: ["tabindex"]});

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

  /* A DOM element with a class and text (set as textContent, so never parsed as HTML), for the lists
   * drawn straight into containers Dash does not re-render (points, health, alerts, the stream log). */
  function node(tag, className, text) {
    var n = document.createElement(tag);
    if (className) { n.className = className; }
    if (text !== undefined) { n.textContent = text; }
    return n;
  }

  /* A DOM element with attributes (`className`, `style` (an object), any other as an attribute) and
   * children: nodes, or strings made text nodes (never parsed as HTML); null children are skipped. */
  function make(tag, attrs, children) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "className") { n.className = attrs[k]; }
      else if (k === "style") { Object.assign(n.style, attrs[k]); }
      else { n.setAttribute(k, attrs[k]); }
    });
    [].concat(children === undefined ? [] : children).forEach(function (c) {
      if (c !== null && c !== undefined) { n.appendChild(typeof c === "object" ? c : document.createTextNode(String(c))); }
    });
    return n;
  }

  /* Draw `nodes` into the element with id `id` (one Dash never re-renders: no children in its layout). */
  function fill(id, nodes) {
    var box = document.getElementById(id);
    if (box) { box.replaceChildren.apply(box, [].concat(nodes)); }
    return box;
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

  /* set_props on a component of the page, from a timer or a reply: false if the page was left meanwhile. */
  function setProps(id, props) {
    try { window.dash_clientside.set_props(id, props); return true; } catch (e) { return false; }
  }

  /* The same selection: {store: [5], dept: []} and {store: [5]} are (a message's `selection`, absent on
   * an unfiltered socket, against what a page shows). */
  function sameSelection(a, b) {
    return ["store", "dept", "asset_id", "sensor_id"].every(function (k) {
      return ((a || {})[k] || []).map(String).sort().join(",") === ((b || {})[k] || []).map(String).sort().join(",");
    });
  }

  function byReceived(a, b) { return Date.parse(a.received || a.timestamp) - Date.parse(b.received || b.timestamp); }

  /* Numbers, money, shares and durations as components/formats.py shows them on the server. */
  var NBSP = "\u00a0", MISSING = "\u2014";
  function missing(v) { return v === null || v === undefined || v === "" || !isFinite(Number(v)); }
  var FORMAT = {
    number: function (v, digits) {
      if (missing(v)) { return MISSING; }
      return Number(v).toLocaleString("en-US", {maximumFractionDigits: digits === undefined ? 2 : digits});
    },
    money: function (v, currency) {
      if (missing(v)) { return MISSING; }
      var n = Number(v);
      return (n < 0 ? "-" : "") + (currency || "") +
        Math.abs(n).toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
    },
    percent: function (share, digits) {
      if (missing(share)) { return MISSING; }
      return (Number(share) * 100).toLocaleString("en-US", {minimumFractionDigits: digits === undefined ? 2 : digits,
        maximumFractionDigits: digits === undefined ? 2 : digits}) + NBSP + "%";
    },
    duration: function (s) {
      if (missing(s)) { return MISSING; }
      s = Number(s);
      if (s < 1) { return Math.round(s * 1000) + NBSP + "ms"; }
      if (s < 60) { return s.toFixed(1) + NBSP + "s"; }
      var w = Math.round(s);
      if (w < 3600) { return Math.floor(w / 60) + NBSP + "min " + pad(w % 60) + NBSP + "s"; }
      if (w < 86400) { return Math.floor(w / 3600) + NBSP + "h " + Math.floor(w % 3600 / 60) + NBSP + "min"; }
      return Math.floor(w / 86400) + NBSP + "d " + Math.floor(w % 86400 / 3600) + NBSP + "h";
    },
    time: timeOf
  };

  window.pulseFormat = FORMAT;
  window.pulseFormatTime = timeOf;
  window.pulseCommon = {
    el: el, node: node, timeOf: timeOf, plotTime: plotTime, zone: zoneOf, toLogin: toLogin, go: go, api: api,
    entityUrl: entityUrl, entityLabel: entityLabel, entityOf: entityOf, inSelection: inSelection, setProps: setProps,
    sameSelection: sameSelection, byReceived: byReceived, link: link, make: make, fill: fill,
    RISK_COLORS: {LOW: "secondary", MEDIUM: "info", HIGH: "warning", CRITICAL: "danger"},
    /* Live charts take their new points at most this often. Redrawing a plot of 600 markers costs a
     * CPU-rendered Chromium 60-90 ms of main thread: at 2.5 redraws a second the Live page spent
     * 170-190 ms/s in long tasks on a quiet machine and ~300 under load (bench/soak.py); once a second,
     * ~65. The KPIs, tables and alerts still change with every frame (4 a second). */
    CHART_MS: 1000,
    tone: function (score) { return score < 50 ? "bad" : (score < 80 ? "warn" : "good"); }
  };
})();
