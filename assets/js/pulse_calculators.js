/* The Calculators page's clientside half: the live market discount rate, and the time it is of, out of
 * market frames ({rate, timestamp}; pages/calculators.py puts it in the rate box and says as of when). */
(function () {
  "use strict";
  function reading(update) {
    return update && update.values ? {rate: update.values.discount_rate, timestamp: update.timestamp} : null;
  }
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_calculators: {
      marketRate: function (frame) {
        var nu = window.dash_clientside.no_update;
        if (!frame) { return nu; }
        if (frame.type === "snapshot") {
          return reading(frame.market && frame.market.latest) || nu;
        }
        var latest = nu;
        (frame.messages || []).forEach(function (m) {
          if (m.type === "market_update") { latest = reading(m); }
        });
        return latest;
      }
    }
  });
})();
