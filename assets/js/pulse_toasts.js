/*
 * Toasts and the navbar bell for `notification` messages (components/toasts.py, components/navbar.py).
 *
 * Calm by design: alert notifications (kind "alerts", already summed per second by the server) are
 * grouped again here into one digest toast at most every DIGEST_MS ("7 new alerts, 2 CRITICAL", with a
 * link to the list), a visible digest is updated in place rather than stacked, and the user's
 * preference (data-pulse-notify on <html>: all, high, critical, muted) decides which alert digests pop
 * up at all. The bell counts every alert whatever the preference, and lists the recent notifications.
 * A user's own notifications (a calculation finished, an upload analysed) always show.
 * Toasts sit bottom right and never cover the field being typed in: when the focused input is under
 * them they move to the top, and if it is under them there too they step aside until focus moves.
 * The toasts, the bell's list and its count are drawn straight into their elements as DOM text nodes
 * (never HTML; their layout has no children, so Dash never re-renders them): as Dash children, each
 * notification (one a second at a busy stream) cost the page a re-render of the list, a path
 * recomputation and a store update per old child, ~65 store updates a second in all.
 */
(function () {
  "use strict";
  var MAX = 3, LIFETIME = 6000, DIGEST_MS = 30000, HISTORY = 20;
  var COLORS = {info: "primary", success: "success", warning: "warning", error: "danger"};
  var toasts = [], history = [], unread = 0, next = 1, area = null;
  var digest = null, digestShownAt = 0, digestTimer = null;   // alerts waiting for the next digest toast

  var make = window.pulseCommon.make, fill = window.pulseCommon.fill;
  function setProps(id, props) {
    if (window.dash_clientside && window.dash_clientside.set_props && document.getElementById(id)) {
      window.dash_clientside.set_props(id, props);
    }
  }
  function level() { return document.documentElement.getAttribute("data-pulse-notify") || "critical"; }
  function wanted(digestNote) {
    var choice = level();
    if (choice === "muted") { return false; }
    if (choice === "critical") { return digestNote.critical > 0; }
    return true;
  }
  function digestTitle(d) {
    return d.count + " new alert" + (d.count === 1 ? "" : "s") + (d.critical ? ", " + d.critical + " CRITICAL" : "");
  }

  function render() {
    if (!area) { return; }
    fill(area, toasts.map(function (t) {
      var color = COLORS[t.level] || "secondary", body = [t.message];
      if (t.link) { body = [t.message, " ", make("a", {href: t.link, className: "toast-link"}, "View alerts")]; }
      return make("div", {className: "toast show pulse-toast border-" + color, role: "alert", "data-testid": "toast"}, [
        make("div", {className: "toast-header"}, [
          make("span", {className: "toast-dot bg-" + color}),
          make("strong", {className: "me-auto"}, t.title),
          make("small", {className: "text-body-secondary"}, window.pulseCommon.timeOf(t.timestamp))
        ]),
        make("div", {className: "toast-body"}, body)
      ]);
    }));
    setTimeout(avoidFocus, 0);
  }

  function show(toast) {
    toasts = [toast].concat(toasts.filter(function (t) { return t.id !== toast.id; })).slice(0, MAX);
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () {
      toasts = toasts.filter(function (t) { return t !== toast; });
      render();
    }, LIFETIME);
    render();
  }

  function showDigest() {
    digestTimer = null;
    if (!digest) { return; }
    var d = digest;
    digest = null;
    digestShownAt = Date.now();
    var visible = toasts.filter(function (t) { return t.digest; })[0];
    if (visible) {                          // still on screen: add to it rather than stack another
      d.count += visible.count; d.critical += visible.critical;
      if (d.worst < visible.worst) { d.message = visible.message; d.worst = visible.worst; }
    }
    var toast = visible || {id: next++, digest: true};
    Object.assign(toast, {level: d.critical ? "error" : "warning", title: digestTitle(d), message: d.message,
                          timestamp: d.timestamp, link: "/#alerts", count: d.count, critical: d.critical,
                          worst: d.worst});
    show(toast);
  }

  /* An alert digest from the server: into the toast on screen if there is one (it just counts up), else
   * shown now if the last digest toast is DIGEST_MS old, else held until then. */
  function addToDigest(n) {
    if (!digest) { digest = {count: 0, critical: 0, message: n.message, timestamp: n.timestamp, worst: 0}; }
    digest.count += n.count || 1;
    digest.critical += n.critical || 0;
    var weight = (n.critical || 0) > 0 ? 2 : 1;
    if (weight >= digest.worst) { digest.worst = weight; digest.message = n.message; digest.timestamp = n.timestamp; }
    var onScreen = toasts.some(function (t) { return t.digest; });
    var wait = onScreen ? 0 : Math.max(0, digestShownAt + DIGEST_MS - Date.now());
    if (wait === 0) { clearTimeout(digestTimer); showDigest(); } else if (!digestTimer) { digestTimer = setTimeout(showDigest, wait); }
  }

  function renderBell() {
    var count = document.getElementById("nav-bell-count"), bell = document.getElementById("nav-bell");
    if (count) {
      count.textContent = unread > 99 ? "99+" : String(unread);
      count.hidden = unread === 0;
    }
    if (bell) { bell.setAttribute("aria-label", "Notifications, " + (unread ? unread + " unread" : "none unread")); }
    fill("nav-bell-list", history.length ? history.map(function (n) {
      return make("li", {className: "bell-item"}, [
        make("div", {className: "d-flex justify-content-between gap-2"}, [
          make("strong", {className: "small"}, n.title),
          make("small", {className: "text-body-secondary text-nowrap"}, window.pulseCommon.timeOf(n.timestamp))]),
        make("div", {className: "small"}, n.message)]);
    }) : [make("li", {className: "text-body-secondary small"}, "Nothing yet.")]);
  }

  /* Toasts never cover the field being typed in. */
  function overlaps(a, b) { return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom; }
  function avoidFocus() {
    var node = area && document.getElementById(area);
    if (!node) { return; }
    var f = document.activeElement;
    var typing = f && f !== document.body && (/^(INPUT|SELECT|TEXTAREA)$/.test(f.tagName) || f.isContentEditable);
    node.removeAttribute("data-avoid");
    if (!typing || !toasts.length) { return; }
    var field = f.getBoundingClientRect();
    if (!overlaps(node.getBoundingClientRect(), field)) { return; }
    node.setAttribute("data-avoid", "top");
    if (overlaps(node.getBoundingClientRect(), field)) { node.setAttribute("data-avoid", "away"); }
  }
  document.addEventListener("focusin", avoidFocus);
  document.addEventListener("focusout", function () { setTimeout(avoidFocus, 0); });
  window.addEventListener("resize", avoidFocus);

  /* The bell: open or close its panel; opening it marks everything read. */
  document.addEventListener("click", function (e) {
    var bell = e.target.closest && e.target.closest("#nav-bell");
    var panel = document.getElementById("nav-bell-panel");
    if (!panel) { return; }
    if (bell) {
      var open = panel.hidden;
      setProps("nav-bell-panel", {hidden: !open});
      setProps("nav-bell", {"aria-expanded": open ? "true" : "false"});
      if (open) { unread = 0; renderBell(); }
    } else if (!panel.hidden && !(e.target.closest && e.target.closest("#nav-bell-panel"))) {
      setProps("nav-bell-panel", {hidden: true});
      setProps("nav-bell", {"aria-expanded": "false"});
    }
  });
  document.addEventListener("keydown", function (e) {
    var panel = document.getElementById("nav-bell-panel");
    if (e.key === "Escape" && panel && !panel.hidden) {
      setProps("nav-bell-panel", {hidden: true});
      setProps("nav-bell", {"aria-expanded": "false"});
    }
  });

  window.pulseToasts = {
    push: function (notes, areaId) {
      area = areaId || area;
      notes.forEach(function (n) {
        var note = {id: next++, level: n.level, title: n.title, message: n.message, timestamp: n.timestamp};
        history = [note].concat(history).slice(0, HISTORY);
        if (n.kind === "alerts") {
          unread += n.count || 1;
          if (wanted(n)) { addToDigest(n); }
        } else {
          show(note);
        }
      });
      renderBell();
    },
    setLevel: function (choice) { document.documentElement.setAttribute("data-pulse-notify", choice); },
    state: function () { return {unread: unread, toasts: toasts.length, pending: digest ? digest.count : 0}; }
  };
})();
