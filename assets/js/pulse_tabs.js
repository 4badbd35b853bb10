/*
 * components/tabs.py in the browser: the clicked tab ("<set>-tab-<key>") is selected and shows its panel
 * ("<set>-pane-<key>"); the set's store gets the key. Outputs are told apart by their id and property.
 * The keyboard works as WAI-ARIA's tab pattern says: only the selected tab is in the Tab order, and the
 * arrow keys, Home and End move to another tab and select it (a click, so the callback does the rest).
 */
(function () {
  "use strict";

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_tabs: {
      show: function () {
        var ctx = window.dash_clientside.callback_context;
        var tab = ctx.triggered_id;
        var pane = tab.replace("-tab-", "-pane-");
        return ctx.outputs_list.map(function (out) {
          if (out.property === "className") { return out.id === tab ? "nav-link active" : "nav-link"; }
          if (out.property === "aria-selected") { return out.id === tab ? "true" : "false"; }
          if (out.property === "tabIndex") { return out.id === tab ? "0" : "-1"; }
          if (out.property === "hidden") { return out.id !== pane; }
          return tab.slice(tab.lastIndexOf("-tab-") + 5);
        });
      }
    }
  });

  var MOVES = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1};

  document.addEventListener("keydown", function (event) {
    var current = event.target;
    if (!current || current.getAttribute("role") !== "tab") { return; }
    var list = current.closest(".pulse-tabs");
    if (!list) { return; }
    var tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
    var at = tabs.indexOf(current);
    var next = null;
    if (event.key in MOVES) { next = tabs[(at + MOVES[event.key] + tabs.length) % tabs.length]; }
    if (event.key === "Home") { next = tabs[0]; }
    if (event.key === "End") { next = tabs[tabs.length - 1]; }
    if (!next) { return; }
    event.preventDefault();
    next.focus();
    next.click();
  });
})();
