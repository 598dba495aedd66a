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

  document.addEventListener("submit", function (event) {
    var message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
  document.addEventListener("htmx:afterSettle", function (event) { localize(event.target); });
  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    drawTimeline();
  });
})();
