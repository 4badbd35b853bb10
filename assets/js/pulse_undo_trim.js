/*
 * dash-renderer keeps an undo/redo history of every change to a callback input (plotly/dash#727) and
 * never trims it. A live page changes its socket's `message` and frame store about 14 times a second,
 * each entry holding the frame: about 10 MB of heap a minute, forever (measured with bench/soak.py).
 * Pulseboard shows no undo/redo buttons (the app's default), so the history is emptied every few
 * seconds. The store is dash-renderer's own (`window.store`); the history arrays are replaced on every
 * change, never read back by anything but undo/redo, so emptying the current one in place is safe.
 */
(function () {
  "use strict";
  var EVERY_MS = 2000;

  function trim() {
    var store = window.store;
    var state = store && typeof store.getState === "function" ? store.getState() : null;
    var history = state && state.history;
    if (history && Array.isArray(history.past) && history.past.length) { history.past.length = 0; }
    if (history && Array.isArray(history.future) && history.future.length) { history.future.length = 0; }
  }

  setInterval(trim, EVERY_MS);
})();
