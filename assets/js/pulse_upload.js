/*
 * Upload zones (components/upload_zone.py): drop or pick a file, stream it with one XMLHttpRequest
 * whose body is the File itself (the browser reads it from disk as it sends), show progress, and
 * hand the server's JSON answer to Dash through the zone's `done` store. The zone is a <button>, so
 * Tab reaches it and Enter or Space "clicks" it, which opens the file picker like a mouse click.
 *
 * Also the Analysis page's AG Grid functions (window.dashAgGridFunctions): cells formatted with the
 * shared pulseFormat, and grid CSV exports guarded against spreadsheet formulas like the server's.
 */
(function () {
  "use strict";
  var set = function (id, props) { window.dash_clientside.set_props(id, props); };

  /* The zone's progress bar (a Bootstrap .progress-bar): width, text, colour and whether it moves. */
  function bar(aio, pct, label, color, moving) {
    set(aio + "-progress", {style: {width: pct + "%"}, children: label, "aria-valuenow": pct,
      className: "progress-bar bg-" + color + (moving ? " progress-bar-striped progress-bar-animated" : "")});
  }

  function send(zone, file) {
    var aio = zone.getAttribute("data-aio");
    var url = zone.getAttribute("data-endpoint") + "?name=" + encodeURIComponent(file.name);
    var xhr = new XMLHttpRequest();
    var lastPaint = 0, color = "primary";
    bar(aio, 0, "0%", color, true);
    set(aio + "-status", {children: "Uploading " + file.name + "…"});
    xhr.upload.onprogress = function (e) {
      var now = Date.now();
      if (!e.lengthComputable || now - lastPaint < 100) { return; }   // at most 10 repaints a second
      lastPaint = now;
      var pct = Math.floor(100 * e.loaded / e.total);
      bar(aio, pct, pct + "%", color, true);
    };
    xhr.upload.onload = function () {
      bar(aio, 100, "Analysing…", color, true);
      set(aio + "-status", {children: "Checking and analysing " + file.name + "…"});
    };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {error: "Unexpected answer from the server."}; }
      if (xhr.status === 201) {
        bar(aio, 100, "Done", "success", false);
        set(aio + "-status", {children: file.name + ": " + body.rows.toLocaleString() + " rows, " + body.profile + " profile"});
        set(aio + "-done", {data: body});
      } else {
        if (xhr.status === 401) { window.pulseCommon.toLogin(); }
        bar(aio, 100, "Failed", "danger", false);
        set(aio + "-status", {children: (body.error || ("Upload failed (" + xhr.status + ")"))});
      }
    };
    xhr.onerror = function () {
      bar(aio, 100, "Failed", "danger", false);
      set(aio + "-status", {children: "The upload was interrupted; check the connection and try again."});
    };
    xhr.open("POST", url);
    xhr.setRequestHeader("Content-Type", "text/csv");
    xhr.setRequestHeader("X-CSRFToken", zone.getAttribute("data-csrf") || "");
    xhr.send(file);
  }

  var FORMULA = /^[=+\-@\t\r]/, NUMBER_TEXT = /^[+-]?\d[\d., ]*$/;
  window.dashAgGridFunctions = Object.assign(window.dashAgGridFunctions || {}, {
    pulsePercent: function (share) { return window.pulseFormat.percent(share); },
    pulseNumber: function (value) { return window.pulseFormat.number(value); },
    /* A text cell starting with = + - @ TAB or CR gets a leading apostrophe (services/analysis/export.py). */
    pulseCsvCell: function (params) {
      var value = params.value;
      if (typeof value !== "string" || NUMBER_TEXT.test(value) || !FORMULA.test(value)) { return value; }
      return "'" + value;
    }
  });

  function zoneOf(target) { return target && target.closest ? target.closest(".upload-zone") : null; }

  document.addEventListener("dragover", function (e) {
    var zone = zoneOf(e.target);
    if (zone) { e.preventDefault(); zone.classList.add("dragging"); }
  });
  document.addEventListener("dragleave", function (e) {
    var zone = zoneOf(e.target);
    if (zone) { zone.classList.remove("dragging"); }
  });
  document.addEventListener("drop", function (e) {
    var zone = zoneOf(e.target);
    if (!zone) { return; }
    e.preventDefault();
    zone.classList.remove("dragging");
    if (e.dataTransfer.files.length) { send(zone, e.dataTransfer.files[0]); }
  });
  /* The file picker's <input>, referenced while its dialog is open. A detached input that nothing
   * references can be garbage-collected while the dialog is up: its choice is then lost (and automation
   * that resolves the dialog's element, as Playwright does, never sees the dialog at all). */
  var picker = null;
  document.addEventListener("click", function (e) {
    var zone = zoneOf(e.target);
    if (!zone) { return; }
    var input = picker = document.createElement("input");
    input.type = "file";
    input.accept = ".csv,.txt,text/csv";
    input.onchange = function () {
      if (picker === input) { picker = null; }
      if (input.files.length) { send(zone, input.files[0]); }
    };
    input.click();
  });
})();
