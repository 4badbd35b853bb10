/* The Calculators page's clientside half: the live market discount rate out of market frames. */
(function () {
  "use strict";
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_calculators: {
      marketRate: function (frame) {
        var nu = window.dash_clientside.no_update;
        if (!frame) { return nu; }
        if (frame.type === "snapshot") {
          var latest = frame.market && frame.market.latest;
          return latest ? latest.values.discount_rate : nu;
        }
        var rate = nu;
        (frame.messages || []).forEach(function (m) {
          if (m.type === "market_update") { rate = m.values.discount_rate; }
        });
        return rate;
      }
    }
  });
})();
