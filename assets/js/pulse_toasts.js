/*
 * Toasts for `notification` messages (components/toasts.py): newest on top, at most four, each gone
 * after six seconds or when closed. Rendered as React text (never HTML) into the shell's toast area.
 */
(function () {
  "use strict";
  var MAX = 4, LIFETIME = 6000;
  var COLORS = {info: "primary", success: "success", warning: "warning", error: "danger"};
  var toasts = [], next = 1, area = null;   // the toast area's id, from the LiveSocket config

  function el(type, props, children) {
    var p = Object.assign({}, props || {});
    if (children !== undefined) { p.children = children; }
    return {type: type, namespace: "dash_html_components", props: p};
  }

  function render() {
    if (!area || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
    window.dash_clientside.set_props(area, {children: toasts.map(function (t) {
      return el("Div", {key: String(t.id), className: "toast show pulse-toast border-" + (COLORS[t.level] || "secondary"),
                        role: "alert", "data-testid": "toast"}, [
        el("Div", {className: "toast-header"}, [
          el("Span", {className: "toast-dot bg-" + (COLORS[t.level] || "secondary")}),
          el("Strong", {className: "me-auto"}, t.title),
          el("Small", {className: "text-muted"}, window.pulseCommon.timeOf(t.timestamp))
        ]),
        el("Div", {className: "toast-body"}, t.message)
      ]);
    })});
  }

  window.pulseToasts = {
    push: function (notes, areaId) {
      area = areaId || area;
      notes.forEach(function (n) {
        var toast = {id: next++, level: n.level, title: n.title, message: n.message, timestamp: n.timestamp};
        toasts.unshift(toast);
        setTimeout(function () {
          toasts = toasts.filter(function (t) { return t.id !== toast.id; });
          render();
        }, LIFETIME);
      });
      toasts = toasts.slice(0, MAX);
      render();
    }
  };
})();
