// quietly UI: show instants in the browser's zone, redraw the timeline grid in that zone,
// confirm destructive forms. The server renders everything else (rules never expand here).
(function () {
  "use strict";
  // One format for the whole UI, the same rules as quietly/web/timefmt.py: "Tue 15 Jan"
  // (+ the year when not this year), the browser's 24/12-hour habit, zones as IANA names and
  // instants with their UTC offset ("UTC+1"), never a locale's "CET" or "GMT+1".
  var WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                "Dec"];
  var BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  var CLOCK = (function () {
    var cycle = new Intl.DateTimeFormat(undefined, { hour: "numeric" }).resolvedOptions().hourCycle;
    return cycle === "h11" || cycle === "h12" ? "h12" : "h23";
  })();
  var formatters = {};

  function fields(when, zone) {
    var format = formatters[zone] || (formatters[zone] = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric" }));
    var p = {};
    format.formatToParts(when).forEach(function (part) { p[part.type] = part.value; });
    var f = { y: +p.year, mo: +p.month, d: +p.day, h: +p.hour % 24, mi: +p.minute, s: +p.second };
    var wall = Date.UTC(f.y, f.mo - 1, f.d, f.h, f.mi, f.s);
    f.offset = Math.round((wall - Math.floor(when.getTime() / 1000) * 1000) / 60000);
    f.wd = new Date(Date.UTC(f.y, f.mo - 1, f.d)).getUTCDay();
    return f;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clockText(h, mi, s) {
    var seconds = s ? ":" + pad(s) : "";
    if (CLOCK === "h23") { return pad(h) + ":" + pad(mi) + seconds; }
    return (h % 12 || 12) + ":" + pad(mi) + seconds + (h < 12 ? " AM" : " PM");
  }
  function offsetText(minutes) {
    if (!minutes) { return "UTC"; }
    var abs = Math.abs(minutes), rest = abs % 60;
    return "UTC" + (minutes > 0 ? "+" : "\u2212") + Math.floor(abs / 60) + (rest ? ":" + pad(rest) : "");
  }
  function dateText(f, thisYear) {
    var text = WEEKDAYS[f.wd] + " " + f.d + " " + MONTHS[f.mo - 1];
    return f.y === thisYear ? text : text + " " + f.y;
  }
  function sameDay(a, b) { return a.y === b.y && a.mo === b.mo && a.d === b.d; }
  // Instants to the minute; wall-clock times of a rule (data-wall) keep their seconds.
  function instantText(when, zone, style) {
    var f = fields(when, zone), thisYear = fields(new Date(), zone).y;
    if (style === "time") { return clockText(f.h, f.mi, 0); }
    if (style === "date") { return dateText(f, thisYear); }
    if (style === "day") { return WEEKDAYS[f.wd] + " " + f.d + (f.d === 1 ? " " + MONTHS[f.mo - 1] : ""); }
    return dateText(f, thisYear) + ", " + clockText(f.h, f.mi, 0) + " " + offsetText(f.offset);
  }
  function rangeText(start, end, zone) {
    var a = fields(start, zone), b = fields(end, zone), thisYear = fields(new Date(), zone).y;
    var day = sameDay(a, b);
    var first = dateText(a, thisYear) + ", " + clockText(a.h, a.mi, 0);
    var last = day ? clockText(b.h, b.mi, 0) : dateText(b, thisYear) + ", " + clockText(b.h, b.mi, 0);
    if (a.offset === b.offset) { return first + (day ? "\u2013" : " \u2013 ") + last + " " + offsetText(b.offset); }
    return first + " " + offsetText(a.offset) + " \u2013 " + last + " " + offsetText(b.offset);
  }

  // Each end of a range in a nobr span, as the server writes it (timefmt.range_markup): a
  // range over two days may break at its dash in a narrow column, never inside a date.
  function writeRange(el, text) {
    el.textContent = "";
    text.split(" \u2013 ").forEach(function (half, i) {
      if (i) { el.appendChild(document.createTextNode(" \u2013 ")); }
      var span = document.createElement("span");
      span.className = "nobr";
      span.textContent = half;
      el.appendChild(span);
    });
  }

  function localize(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) { return; }
      el.textContent = instantText(when, el.dataset.zone || BROWSER_ZONE, el.dataset.local);
      if (el.dataset.home) {
        el.title = instantText(when, el.dataset.home, "datetime") + " (" + el.dataset.home + ")";
      }
    });
    root.querySelectorAll("[data-range]").forEach(function (el) {
      var start = new Date(el.dataset.start), end = new Date(el.dataset.end);
      if (isNaN(start) || isNaN(end)) { return; }
      writeRange(el, rangeText(start, end, el.dataset.zone || BROWSER_ZONE));
      if (el.dataset.home) {
        el.title = rangeText(start, end, el.dataset.home) + " (" + el.dataset.home + ")";
      }
    });
    root.querySelectorAll("time[data-wall]").forEach(function (el) {
      var t = (el.getAttribute("datetime") || "").split(":");
      if (t.length < 2) { return; }
      el.textContent = clockText(+t[0], +t[1], +(t[2] || 0));
    });
    root.querySelectorAll("[data-your-time]").forEach(function (el) {
      el.hidden = el.dataset.home === BROWSER_ZONE;
    });
    var here = BROWSER_ZONE + " (" + offsetText(fields(new Date(), BROWSER_ZONE).offset) + ")";
    root.querySelectorAll("[data-zone-note]").forEach(function (el) {
      el.textContent = el.dataset.zoneNote.replace("{zone}", here);
    });
  }

  // The server writes times in this habit too (schedules in words, pages without a <time>).
  function rememberClock() {
    if (document.cookie.indexOf("quietly_clock=" + CLOCK) === -1) {
      document.cookie = "quietly_clock=" + CLOCK + "; path=/; max-age=31536000; samesite=lax";
    }
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
      var text = WEEKDAYS[day.getDay()] + " " + day.getDate()
        + (day.getDate() === 1 ? " " + MONTHS[day.getMonth()] : "");
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
    rememberClock();
    localize(document);
    drawTimeline();
    focusErrorSummary();
    announcePreview();
  });
})();
