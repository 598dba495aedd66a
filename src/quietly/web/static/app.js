// quietly UI: show instants in the browser's zone, redraw the timeline grid in that zone,
// confirm destructive forms. The server renders everything else (rules never expand here).
(function () {
  "use strict";
  var FORMATS = {
    datetime: { weekday: "short", day: "numeric", month: "short", hour: "2-digit",
                minute: "2-digit", timeZoneName: "short" },
    time: { hour: "2-digit", minute: "2-digit" },
    date: { weekday: "short", day: "numeric", month: "short", year: "numeric" },
    day: { weekday: "short", day: "numeric" }
  };

  function localize(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) { return; }
      var options = FORMATS[el.dataset.local] || FORMATS.datetime;
      el.textContent = new Intl.DateTimeFormat(undefined, options).format(when);
    });
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    root.querySelectorAll("[data-browser-zone]").forEach(function (el) { el.textContent = zone; });
  }

  // Day columns at the browser's local midnights; bars are already placed by the server.
  function drawTimeline() {
    var tl = document.querySelector("[data-timeline]");
    if (!tl) { return; }
    var start = new Date(tl.dataset.start), end = new Date(tl.dataset.end), span = end - start;
    var axis = tl.querySelector("[data-axis]"), lines = tl.querySelector("[data-gridlines]");
    var day = new Date(start); day.setHours(0, 0, 0, 0);
    var today = new Date(); today.setHours(0, 0, 0, 0);
    var labels = [], marks = [];
    for (; day < end; day.setDate(day.getDate() + 1)) {
      var next = new Date(day); next.setDate(next.getDate() + 1);
      var from = Math.max(0, (day - start) / span * 100);
      var to = Math.min(100, (next - start) / span * 100);
      var box = 'style="left:' + from.toFixed(3) + "%;width:" + (to - from).toFixed(3) + '%"';
      var cls = day.getTime() === today.getTime() ? " today" : "";
      var text = new Intl.DateTimeFormat(undefined, FORMATS.day).format(day);
      if (day.getDate() === 1) {
        text += " " + new Intl.DateTimeFormat(undefined, { month: "short" }).format(day);
      }
      labels.push('<span class="tl-day' + cls + '" ' + box + ">" + text + "</span>");
      marks.push('<span class="tl-gridline' + cls + '" ' + box + "></span>");
    }
    axis.innerHTML = labels.join("");
    lines.innerHTML = marks.join("");
    var now = tl.querySelector("[data-now]");
    now.style.left = ((Date.now() - start) / span * 100).toFixed(3) + "%";
  }

  // After a failed submit, focus goes to the error summary; its links focus their field.
  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) { return; }
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) { return; }
      event.preventDefault();
      (field.closest(".field") || field).scrollIntoView({ block: "start" });
      field.focus({ preventScroll: true });
    });
    summary.focus();
  }

  // The preview is not a live region: only its one-line summary is announced, through a
  // separate status region, once typing pauses or focus leaves a field.
  var PAUSE_MS = 1000;
  function announcePreview() {
    var form = document.getElementById("window-form");
    var preview = document.getElementById("preview");
    var region = document.querySelector("[data-preview-status]");
    if (!form || !preview || !region) { return; }
    var timer = null, said = null;
    function summary() {
      var part = preview.querySelector("[data-preview-human], [data-preview-errors]");
      return part ? part.textContent.replace(/\s+/g, " ").trim() : "";
    }
    function say() {
      clearTimeout(timer);
      timer = null;
      var text = summary();
      if (said === null) { said = text; return; }  // the first preview is not news
      if (text && text !== said) { said = text; region.textContent = text; }
    }
    function wait() { clearTimeout(timer); timer = setTimeout(say, PAUSE_MS); }
    form.addEventListener("input", wait);
    form.addEventListener("focusout", function () {
      if (timer === null) { return; }
      clearTimeout(timer);
      timer = null;  // a preview on its way is announced when it settles
      if (!preview.classList.contains("htmx-request")) { say(); }
    });
    document.addEventListener("htmx:afterSettle", function (event) {
      if (event.target === preview && timer === null) { say(); }
    });
  }

  document.addEventListener("submit", function (event) {
    var message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
  document.addEventListener("htmx:afterSettle", function (event) { localize(event.target); });
  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    drawTimeline();
    focusErrorSummary();
    announcePreview();
  });
})();
