/*
 * The view bar's callbacks (components/explore.py): entity filters -> selection, selection + range ->
 * the view the page's chart module applies (pulseLiveChart on Live and an entity's page, pulseSensorChart
 * on Assets), Pause/Resume. A custom range is typed in the browser's zone ("2026-12-01 08:00") or ISO.
 */
(function () {
  "use strict";
  var LABELS = {store: "Store", dept: "Dept", asset_id: "Asset", sensor_id: "Sensor"};

  var shown = {};         // page -> the custom panel's state and error last returned (unchanged: no update)

  function chartModule(cfg) { return cfg.kind === "sensor" ? window.pulseSensorChart : window.pulseLiveChart; }

  function panel(cfg, open, error) {
    var nu = window.dash_clientside.no_update, last = shown[cfg.page] || {};
    shown[cfg.page] = {open: open, error: error};
    return [last.open === open ? nu : open, last.error === error ? nu : error];
  }

  function merged(fixed, selection) {
    var out = {};
    [fixed || {}, selection || {}].forEach(function (s) {
      Object.keys(s).forEach(function (k) { if ((s[k] || []).length) { out[k] = s[k].slice(); } });
    });
    return out;
  }

  /* Whether the callback runs for a change of a control whose id ends with `suffix` (none: the page opened). */
  function triggered(suffix) {
    var ctx = window.dash_clientside.callback_context;
    return (ctx.triggered || []).some(function (t) {
      var id = (t.prop_id || "").split(".")[0];
      return suffix ? id.slice(-suffix.length) === suffix : id !== "";
    });
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_view: {
      selection: function (first, second, cfg) {
        var out = {};
        out[cfg.filter_fields[0]] = first || [];
        out[cfg.filter_fields[1]] = second || [];
        return out;
      },

      /* What is typed into a filter is offered as an option too ("Store 57"), so any store can be chosen. */
      options: function (search, options, id, cfg) {
        var nu = window.dash_clientside.no_update, field = cfg.filter_fields[id === cfg.view_ids.first ? 0 : 1];
        var text = (search || "").trim().replace(new RegExp("^" + LABELS[field] + "\\s*", "i"), "");
        if (!text) { return nu; }
        var numeric = field === "store" || field === "dept";
        if (numeric && !/^[0-9]{1,9}$/.test(text)) { return nu; }
        var value = numeric ? parseInt(text, 10) : text;
        if ((numeric && value < 1) || text.length > 200 ||
            (options || []).some(function (o) { return String(o.value) === String(value); })) { return nu; }
        return (options || []).concat([{label: LABELS[field] + " " + value, value: value}]);
      },

      apply: function (selection, range, eventClock, _apply, _refresh, fromText, toText, cfg, socketCfg, figure) {
        var nu = window.dash_clientside.no_update, H = window.pulseHistory;
        var view = {range: range || "live", clock: eventClock ? "event" : "received", from: null, to: null};
        var fromOut = nu, toOut = nu;
        if (view.range === "custom") {
          if (!(fromText || "").trim() && !(toText || "").trim()) {     // just switched: start from the last hour
            view.from = new Date(Date.now() - 3600 * 1000).toISOString();
            fromOut = H.typed(view.from);
            toOut = "";
          } else {
            view.from = H.parseTyped(fromText);
            view.to = H.parseTyped(toText);
            if (!view.from || view.to === undefined) {
              return panel(cfg, true, "Type times like 2026-12-01 08:00 (your time zone), or leave \"to\" empty for now.")
                .concat([nu, nu]);
            }
            if (view.to && Date.parse(view.to) <= Date.parse(view.from)) {
              return panel(cfg, true, "\"From\" must be before \"to\".").concat([nu, nu]);
            }
            if (/T/.test(fromText || "")) { fromOut = H.typed(view.from); }    // an address's ISO time, shown as typed
            if (/T/.test(toText || "")) { toOut = H.typed(view.to); }
          }
        }
        var mount = !triggered("");
        if (mount) { delete shown[cfg.page]; }
        chartModule(cfg).setView(cfg, socketCfg, figure, view, merged(cfg.fixed, selection), triggered("-view-refresh"), mount);
        return panel(cfg, view.range === "custom", "").concat([fromOut, toOut]);
      },

      pause: function (_n, cfg) {
        return chartModule(cfg).togglePause(cfg) ? "Resume" : "Pause";
      }
    }
  });
})();
