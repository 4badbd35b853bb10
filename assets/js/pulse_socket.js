/*
 * Clientside half of components/live_socket.py: connect, subscribe, resync, reconnect, fall back.
 * State per socket lives in this closure (one browser tab), never on the server.
 */
(function () {
  "use strict";
  var sockets = {};
  var STALE_MS = 15000;       // no data for this long: the page's KPI cards grey out ("as of ...")
  var current = null;         // the socket of the page on screen (the last one to change state or speak)

  /* The navbar's dot follows the page's socket (html[data-socket]); KPI cards grey out when it is not
   * live or no data came for STALE_MS (html[data-stale], the header's .stale-note says as of when). */
  function mark(ctx, state) {
    current = ctx;
    ctx.state = state;
    document.documentElement.setAttribute("data-socket", state);
    checkStale();
  }
  function checkStale() {
    var root = document.documentElement;
    if (!document.querySelector(".live-socket") || !current) {
      root.removeAttribute("data-socket");
      root.removeAttribute("data-stale");
      return;
    }
    var offline = current.state !== "live" && current.state !== "degraded";
    // Offline, the REST poll (every poll_ms) keeps the data current; a missed poll or two makes it stale.
    var limit = offline ? (current.pollMs || 5000) + 2000 : STALE_MS;
    var stale = Boolean(current.lastData) && Date.now() - current.lastData > limit;
    root.setAttribute("data-stale", stale ? "true" : "false");
    var text = !stale ? "" : "Data as of " + window.pulseCommon.timeOf(new Date(current.lastData).toISOString()) +
      (offline ? " (not connected)" : " (no new data for " + Math.round((Date.now() - current.lastData) / 1000) + " s)");
    document.querySelectorAll(".stale-note").forEach(function (n) { if (n.textContent !== text) { n.textContent = text; } });
  }
  setInterval(checkStale, 1000);

  function ctxFor(cfg) {
    var key = JSON.stringify(cfg.socket_id);
    if (!sockets[key]) {
      sockets[key] = {attempts: 0, everOpened: false, req: 0, lastAlertId: null, timer: null, poll: null,
                      filter: cfg.filter || null};
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

  /* A filter as the server takes it: only non-empty lists, null for "everything". */
  function cleanFilter(filter) {
    var out = {};
    Object.keys(filter || {}).forEach(function (k) { if ((filter[k] || []).length) { out[k] = filter[k].slice(); } });
    return Object.keys(out).length ? out : null;
  }

  function pollOnce(cfg, ctx) {
    var query = [];
    if (ctx.lastAlertId !== null) { query.push("since_alert_id=" + ctx.lastAlertId); }
    Object.keys(ctx.filter || {}).forEach(function (k) {
      query.push(k + "=" + ctx.filter[k].map(encodeURIComponent).join(","));
    });
    var url = cfg.fallback_url + (query.length ? "?" + query.join("&") : "");
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
          ctx.lastData = Date.now();
          ctx.pollMs = cfg.poll_ms;
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

  /* Frames reach the page at most every cfg.deliver_ms: every Dash update costs the tab far more than
   * merging two batches (their messages, in order), and a few updates a second look just as live. A
   * snapshot goes at once and replaces the batches held before it. */
  function setFrame(cfg, data) {
    window.pulseCommon.setProps(cfg.frame_id, {data: data});
  }
  function deliverLater(cfg, ctx, data) {
    var held = ctx.held;
    if (held) {
      held.messages = held.messages.concat(data.messages || []);
      held.dropped = (held.dropped || 0) + (data.dropped || 0);
      held.seq = data.seq;
    } else {
      ctx.held = Object.assign({}, data, {messages: (data.messages || []).slice()});
    }
    if (ctx.deliverTimer) { return; }
    var wait = Math.max(0, (ctx.delivered || 0) + (cfg.deliver_ms || 0) - Date.now());
    ctx.deliverTimer = setTimeout(function () {
      ctx.deliverTimer = null;
      var frame = ctx.held;
      ctx.held = null;
      ctx.delivered = Date.now();
      if (frame) { setFrame(cfg, frame); }
    }, wait);
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
    /* Show only a selection ({"store": [5], "dept": [3]}, or assets/sensors; empty: everything). The
     * server filters from then on and answers `filtered` and a snapshot of the selection; the filter
     * is kept for the subscribe of every reconnect. True when it changed. */
    setFilter: function (cfg, filter) {
      var ctx = ctxFor(cfg), wanted = cleanFilter(filter);
      if (JSON.stringify(wanted) === JSON.stringify(ctx.filter)) { return false; }
      ctx.filter = wanted;
      if (ctx.open) {
        ctx.req += 1;
        setSocket(cfg, {send: JSON.stringify({type: "filter", filter: wanted, id: "filter-" + ctx.req})});
      } else if (ctx.poll) { pollOnce(cfg, ctx); }
      return true;
    },
    /* Ask for a fresh snapshot now (the Refresh button). */
    refresh: function (cfg) {
      var ctx = ctxFor(cfg);
      if (ctx.open) { setSocket(cfg, {send: snapshotRequest(ctx)}); }
      else if (ctx.poll) { pollOnce(cfg, ctx); }
    },
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
        if (cfg) {                    // a (re)opened page starts with its layout's channels and filter, no retry pending
          var ctx = ctxFor(cfg);
          ctx.channels = null;
          ctx.filter = cleanFilter(cfg.filter);
          ctx.open = false;
          ctx.held = null;
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
          var subscribe = {type: "subscribe", channels: ctx.channels || cfg.channels, id: "sub-" + ctx.req};
          if (ctx.filter) { subscribe.filter = ctx.filter; }
          mark(ctx, "live");
          return ["Live", "success", JSON.stringify(subscribe)];
        }
        if (state.readyState === 0) {            // CONNECTING
          if (ctx.poll) { return [nu, nu, nu]; }
          mark(ctx, ctx.everOpened ? "reconnecting" : "connecting");
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
            mark(ctx, "offline");
            return ["Offline", "danger", nu];
          }
          mark(ctx, "reconnecting");
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
          noteAlerts(ctx, data);
          if (data.type === "snapshot" || (data.messages || []).length) { ctx.lastData = Date.now(); current = ctx; }
          var notes = (data.messages || []).filter(function (m) { return m.type === "notification"; });
          if (notes.length && window.pulseToasts) { window.pulseToasts.push(notes, cfg.toast_area_id); }
          if (data.type === "batch") { deliverLater(cfg, ctx, data); return [nu, nu]; }
          ctx.gotSnapshot = true;
          ctx.held = null;                      // the snapshot is newer than any batch held
          ctx.delivered = Date.now();
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
          mark(ctx, degraded ? "degraded" : "live");
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
