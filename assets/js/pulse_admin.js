/*
 * The Admin page's browser side (pages/admin.py): how its grids show times, their CSV export, and copying
 * a new API key. Times stay ISO in the grids' data, so they sort and export exactly; they are shown with
 * the page's one time format (pulseFormat.time, assets/js/common.js), which leaves out the date and zone
 * of a time from today: here they are written out ("today 10:46:07 CET"), an audit line is read later.
 */
(function () {
  "use strict";

  function adminTime(iso) {
    if (!iso) { return "—"; }
    var text = window.pulseFormat.time(iso);
    var moment = new Date(iso);
    if (isNaN(moment) || text.indexOf(" ") >= 0) { return text; }      // already "2 Dec 10:46:07 CET"
    return "today " + text + " " + window.pulseCommon.zone(moment);
  }

  /* AG Grid's expressions (valueFormatter, filterValueGetter) can call what is in dashAgGridFunctions. */
  window.dashAgGridFunctions = Object.assign(window.dashAgGridFunctions || {}, {adminTime: adminTime});

  /* Copying needs a secure context (localhost or HTTPS) for navigator.clipboard; elsewhere the key is
   * selected and copied the old way, and if even that is refused the user is told to press Ctrl+C. */
  function copyOldWay(inputId) {
    var input = document.getElementById(inputId);
    if (!input) { return false; }
    input.focus();
    input.select();
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_admin: {
      exportCsv: function (clicks) {
        return clicks ? true : window.dash_clientside.no_update;
      },
      copyKey: function (clicks, key, inputId) {
        if (!clicks || !key) { return window.dash_clientside.no_update; }
        var fallback = function () { return copyOldWay(inputId) ? "Copied" : "Select the key and press Ctrl+C"; };
        if (!navigator.clipboard || !window.isSecureContext) { return fallback(); }
        return navigator.clipboard.writeText(key).then(function () { return "Copied"; }, fallback);
      }
    }
  });
})();
