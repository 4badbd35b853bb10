/*
 * Runs in <head>, before the first paint (components/theme.py): resolves the "system" theme from the
 * operating system's preference, follows it when it changes, and lets the navbar switch the theme live
 * (window.pulseTheme.set). Bootstrap 5.3 reads data-bs-theme; charts are recoloured by CSS.
 */
(function () {
  "use strict";
  var root = document.documentElement;
  var query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function apply() {
    var choice = root.getAttribute("data-pulse-theme") || "system";
    var dark = choice === "dark" || (choice === "system" && query !== null && query.matches);
    root.setAttribute("data-bs-theme", dark ? "dark" : "light");
  }

  apply();
  if (query && query.addEventListener) { query.addEventListener("change", apply); }
  window.pulseTheme = {
    set: function (choice) { root.setAttribute("data-pulse-theme", choice); apply(); },
    get: function () { return root.getAttribute("data-pulse-theme") || "system"; },
    resolved: function () { return root.getAttribute("data-bs-theme"); }
  };
})();
