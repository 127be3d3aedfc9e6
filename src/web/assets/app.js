// Live events on the status page: short polling of /api/v1/events every 5 seconds. New rows
// are built with textContent, never innerHTML, so an appeal's text cannot inject markup.
(function () {
  "use strict";
  var table = document.getElementById("events");
  if (!table) return;
  var body = table.tBodies[0];
  var lang = document.documentElement.lang;
  // The page's own words for event kinds and steps (empty in English: stored words shown).
  var names = {};
  try { names = JSON.parse(table.getAttribute("data-names") || "{}"); } catch (e) { names = {}; }
  function name(prefix, word) {
    return names[prefix + ":" + word] || word;
  }
  function maxId() {
    var m = 0;
    for (var i = 0; i < body.rows.length; i++) {
      var v = parseInt(body.rows[i].getAttribute("data-id") || "0", 10);
      if (v > m) m = v;
    }
    return m;
  }
  function cell(tr, text) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : text;
    tr.appendChild(td);
    return td;
  }
  function row(e) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-id", String(e.id));
    cell(tr, e.at.replace("T", " ").slice(5, 16));
    var td = document.createElement("td");
    if (e.number) {
      var a = document.createElement("a");
      a.href = "/appeals/" + encodeURIComponent(e.number);
      a.textContent = e.number;
      td.appendChild(a);
    }
    tr.appendChild(td);
    cell(tr, name("kind", e.kind));
    cell(tr, name("step", e.step));
    cell(tr, e.actor);
    cell(tr, e.text).className = "text";
    return tr;
  }
  function poll() {
    fetch("/api/v1/events?limit=50&after=" + maxId(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { events: [] }; })
      .then(function (j) {
        var list = j.events || [];
        for (var i = list.length - 1; i >= 0; i--) {
          body.insertBefore(row(list[i]), body.firstChild);
        }
        while (body.rows.length > 50) body.deleteRow(body.rows.length - 1);
        var s = document.getElementById("live");
        if (s) s.textContent = (lang === "en" ? "updated " : "更新于 ") + new Date().toLocaleTimeString();
      })
      .catch(function () {});
  }
  setInterval(poll, 5000);
})();
