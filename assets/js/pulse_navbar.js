/*
 * The navbar's preference menus (components/navbar.py): a theme or a notification level applies at once
 * (window.pulseTheme from assets/boot/theme.js; pulseToasts.setLevel) and is saved for the user with
 * PUT /api/v1/me/preferences, so it follows them to any browser. The check mark follows the choice.
 */
(function () {
  "use strict";
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_navbar: {
      choose: function (clicks, ids, prefs) {
        var nu = window.dash_clientside.no_update;
        var picked = window.dash_clientside.callback_context.triggered_id;
        if (!picked || !picked.name) { return [ids.map(function () { return nu; }), nu]; }
        var next = Object.assign({}, prefs || {});
        next[picked.name] = picked.value;
        if (picked.name === "theme" && window.pulseTheme) { window.pulseTheme.set(picked.value); }
        if (picked.name === "notify" && window.pulseToasts) { window.pulseToasts.setLevel(picked.value); }
        var change = {};
        change[picked.name] = picked.value;
        window.pulseCommon.api("/api/v1/me/preferences", {method: "PUT", headers: {"Content-Type": "application/json"},
                                                           body: JSON.stringify(change)}).then(function (r) {
          if (!r.ok) { console.warn("Pulseboard: the preference was applied here but not saved (" + r.status + ")"); }
        });
        return [ids.map(function (id) { return next[id.name] === id.value; }), next];
      }
    }
  });
})();
