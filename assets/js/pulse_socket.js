/*
 * Clientside half of components/live_socket.py: connect, subscribe, resync, reconnect, fall back.
 * State per socket lives in this closure (one browser tab), never on the server.
 */
(function () {
  "use strict";
  var sockets = {};

  function ctxFor(cfg) {
    var key = JSON.stringify(cfg.socket_id);
    if (!sockets[key]) {
      sockets[key] = {attempts: 0, everOpened: false, req: 0, lastAlertId: null, timer: null, poll: null};
    }
    return sockets[key];
  }

  function baseUrl(cfg) {
    return (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + cfg.path;
  }

  function noteAlerts(ctx, frame) {
    var lists = [frame.alerts || [], frame.missed_alerts || [], frame.messages || []];
    lists.forEach(function (list) {
      list.forEach(function (m) {
        if ((m.type === "alert" || m.type === "alert_triggered" || frame.type === "snapshot") && typeof m.id === "number") {
          if (ctx.lastAlertId === null || m.id > ctx.lastAlertId) { ctx.lastAlertId = m.id; }
        }
      });
    });
  }

  function pollOnce(cfg, ctx) {
    var url = cfg.fallback_url + (ctx.lastAlertId !== null ? "?since_alert_id=" + ctx.lastAlertId : "");
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (r.status === 401) {   // the session is gone: the socket cannot come back either
          window.pulseCommon.toLogin();
          return null;
        }
        return r.ok ? r.json() : null;
      })
      .then(function (snap) {
        if (snap) {
          noteAlerts(ctx, snap);
          snap.via = "poll";
          window.dash_clientside.set_props(cfg.frame_id, {data: snap});
        }
      })
      .catch(function () { /* still offline; the next poll will try again */ });
  }

  function startPolling(cfg, ctx) {
    if (ctx.poll) { return; }
    pollOnce(cfg, ctx);
    ctx.poll = setInterval(function () { pollOnce(cfg, ctx); }, cfg.poll_ms);
  }

  function stopPolling(ctx) {
    if (ctx.poll) { clearInterval(ctx.poll); ctx.poll = null; }
  }

  /* Set props on this page's socket from a timer. The page may have been left meanwhile, and
   * set_props on a component that is gone throws: then there is nothing left to do (false). */
  function setSocket(cfg, props) {
    try {
      window.dash_clientside.set_props(cfg.socket_id, props);
      return true;
    } catch (e) {
      return false;          // the page that owned this socket was left
    }
  }

  /* Every snapshot request (after subscribing, after a Redis outage, a retry) carries the last
   * alert id seen, so the alerts missed meanwhile come back as `missed_alerts`. */
  function snapshotRequest(ctx) {
    ctx.req += 1;
    var req = {type: "snapshot", id: "snap-" + ctx.req};
    if (ctx.lastAlertId !== null) { req.since_alert_id = ctx.lastAlertId; }
    return JSON.stringify(req);
  }

  /* A snapshot is asked for when the server confirms the subscription. Should that reply or the
   * snapshot itself not reach the page (Dash runs the message callback with the socket's latest
   * message, so a frame can in principle be overtaken), ask again: a page must never sit on an
   * empty screen waiting for data that was already sent. */
  function watchSnapshot(cfg, ctx) {
    clearTimeout(ctx.snapWatch);
    ctx.snapWatch = setTimeout(function () {
      ctx.snapWatch = null;
      if (ctx.gotSnapshot || !ctx.open) { return; }
      if (setSocket(cfg, {send: snapshotRequest(ctx)})) { watchSnapshot(cfg, ctx); }
    }, cfg.snapshot_retry_ms || 3000);
  }

  function scheduleReconnect(cfg, ctx) {
    ctx.attempts += 1;
    // Exponential backoff capped at 10 s, with +/-50% jitter so many tabs do not reconnect in step.
    var delay = Math.min(10000, 500 * Math.pow(2, ctx.attempts - 1)) * (0.5 + Math.random());
    ctx.timer = setTimeout(function () {
      ctx.timer = null;
      setSocket(cfg, {url: baseUrl(cfg) + "?attempt=" + ctx.attempts});
    }, delay);
  }

  /* Change a socket's channels while it runs (the Stream log page): unsubscribe what was dropped,
   * subscribe what was added, and remember the choice for reconnects. The dash-extensions socket
   * sends when its `send` prop changes, so two updates in one tick would send only the second:
   * the messages go 150 ms apart. An empty choice keeps `notifications` (a socket subscribed to
   * nothing is closed by the server as idle). */
  window.pulseSocket = {
    setChannels: function (cfg, channels) {
      var ctx = ctxFor(cfg);
      var current = ctx.channels || cfg.channels;
      var wanted = channels.length ? channels.slice() : ["notifications"];
      var removed = current.filter(function (c) { return wanted.indexOf(c) < 0; });
      var added = wanted.filter(function (c) { return current.indexOf(c) < 0; });
      ctx.channels = wanted;
      var messages = [];
      if (removed.length) { messages.push({type: "unsubscribe", channels: removed}); }
      if (added.length) { messages.push({type: "subscribe", channels: added}); }
      messages.forEach(function (m, i) {
        setTimeout(function () {
          ctx.req += 1;
          m.id = m.type + "-" + ctx.req;
          setSocket(cfg, {send: JSON.stringify(m)});
        }, i * 150);
      });
    }
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse_socket: {
      url: function (cfg) {
        if (cfg) {                    // a (re)opened page starts with its layout's channels, no retry pending
          var ctx = ctxFor(cfg);
          ctx.channels = null;
          clearTimeout(ctx.snapWatch);
        }
        return cfg ? baseUrl(cfg) : window.dash_clientside.no_update;
      },

      state: function (state, cfg) {
        var nu = window.dash_clientside.no_update;
        if (!state || !cfg) { return [nu, nu, nu]; }
        var ctx = ctxFor(cfg);
        if (state.readyState === 1) {            // OPEN
          ctx.attempts = 0;
          ctx.everOpened = true;
          ctx.open = true;
          ctx.gotSnapshot = false;
          watchSnapshot(cfg, ctx);
          stopPolling(ctx);
          ctx.req += 1;
          return ["Live", "success",
                  JSON.stringify({type: "subscribe", channels: ctx.channels || cfg.channels, id: "sub-" + ctx.req})];
        }
        if (state.readyState === 0) {            // CONNECTING
          if (ctx.poll) { return [nu, nu, nu]; }
          return [ctx.everOpened ? "Reconnecting…" : "Connecting…", "warning", nu];
        }
        if (state.readyState === 3) {            // CLOSED
          ctx.open = false;
          if (state.code === 4001 || state.code === 4003) {   // signed out or disabled: sign in again
            window.pulseCommon.toLogin();
            return ["Signed out", "secondary", nu];
          }
          if (!ctx.timer) { scheduleReconnect(cfg, ctx); }
          if (ctx.attempts >= cfg.offline_after) {
            startPolling(cfg, ctx);
            return ["Offline", "danger", nu];
          }
          return ["Reconnecting…", "warning", nu];
        }
        return [nu, nu, nu];                     // CLOSING: wait for CLOSED
      },

      message: function (msg, cfg) {
        var nu = window.dash_clientside.no_update;
        if (!msg || typeof msg.data !== "string" || !cfg) { return [nu, nu]; }
        var data;
        try { data = JSON.parse(msg.data); } catch (e) {
          console.warn("Pulseboard: ignored a frame that is not JSON");
          return [nu, nu];
        }
        var ctx = ctxFor(cfg);
        if (data.type === "subscribed") { return [snapshotRequest(ctx), nu]; }
        if (data.type === "batch" || data.type === "snapshot") {
          if (data.type === "snapshot") { ctx.gotSnapshot = true; }
          noteAlerts(ctx, data);
          var notes = (data.messages || []).filter(function (m) { return m.type === "notification"; });
          if (notes.length && window.pulseToasts) { window.pulseToasts.push(notes, cfg.toast_area_id); }
          return [nu, data];
        }
        if (data.type === "session_ended") {    // signed out (here or in another tab): sign in again
          window.pulseCommon.toLogin();
          return [nu, nu];
        }
        if (data.type === "status") {           // the server's hub (Redis) was lost or is back
          var degraded = data.state === "degraded";
          if (window.pulseToasts && !data.resync) {   // a data-source change people should notice
            window.pulseToasts.push([degraded
              ? {level: "warning", title: "Live data degraded", timestamp: new Date().toISOString(),
                 message: "The server lost its event store (Redis); pages still work, live updates resume when it is back."}
              : {level: "success", title: "Live data is back", timestamp: new Date().toISOString(),
                 message: "Catching up on what was missed."}], cfg.toast_area_id);
          }
          window.dash_clientside.set_props(cfg.badge_id, {children: degraded ? "Degraded" : "Live",
                                                          color: degraded ? "warning" : "success"});
          if (!degraded) { return [snapshotRequest(ctx), nu]; }    // back: catch up on what was missed
          return [nu, nu];
        }
        if (data.type === "error") {
          console.warn("Pulseboard server error: " + data.code + " " + data.reason);
        }
        return [nu, nu];
      }
    }
  });
})();
