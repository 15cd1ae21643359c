// Live log follow for the job page: the only script of the pages.
// It streams records after the ones the server rendered, from
// /jobs/{id}/log/stream (Server-Sent Events), folding top-level actions
// like the server does, and ends when the job ends.
(function () {
  "use strict";
  var log = document.getElementById("log");
  if (!log || log.dataset.follow !== "true") { return; }
  var job = log.dataset.job, next = log.dataset.next;
  var status = document.getElementById("log-status");
  var pager = document.getElementById("log-pager");
  var jump = document.getElementById("jump-error");
  if (pager) { pager.hidden = true; }
  var cur = log.lastElementChild && log.lastElementChild.tagName === "DETAILS" &&
    log.lastElementChild.dataset.open === "true" ? log.lastElementChild : log;
  var actRe = /^(start|end): (\d+) /;
  var atBottom = function () { return window.innerHeight + window.scrollY >= document.body.scrollHeight - 40; };

  function line(r) {
    var d = document.createElement("div");
    d.className = "l lvl-" + r.l;
    d.id = "L" + r.i;
    var n = document.createElement("a");
    n.className = "n"; n.href = "#L" + r.i; n.textContent = r.i;
    var t = document.createElement("span");
    t.className = "t"; t.textContent = r.t;
    var m = document.createElement("span");
    m.className = "m"; m.textContent = r.m;
    d.appendChild(n); d.appendChild(t); d.appendChild(m);
    if ((r.l === "error" || r.l === "exception") && !document.getElementById("first-error")) {
      d.id = "first-error";
      if (jump) { jump.hidden = false; }
    }
    return d;
  }

  function add(r) {
    var a = actRe.exec(r.m);
    if (a && a[1] === "start") {
      var det = document.createElement("details");
      det.className = "act"; det.open = true; det.dataset.open = "true";
      var s = document.createElement("summary");
      s.appendChild(line(r));
      det.appendChild(s);
      log.appendChild(det);
      cur = det;
      return;
    }
    cur.appendChild(line(r));
    if (a && a[1] === "end" && cur !== log) { cur.dataset.open = "false"; cur = log; }
  }

  // A running job's results: the table shows the results records of the
  // log (the server rendered those of its first page) until the job ends.
  var liveResults = document.getElementById("results-live");
  var resultsBody = document.querySelector("#results tbody");
  var validResult = {pass: true, fail: true, skip: true, unknown: true};

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  // measurement shows a number as the server does: in full, no exponent.
  function measurement(v) {
    if (v === undefined || v === null || v === "") { return ""; }
    var n = Number(v);
    if (!isFinite(n)) { return ""; }
    var s = String(n); // the shortest decimal, as the server's
    if (/e/.test(s)) { s = n.toLocaleString("en-US", {useGrouping: false, maximumFractionDigits: 20}); }
    return s;
  }

  function result(r) {
    if (!liveResults || !resultsBody || r.l !== "results") { return; }
    var c;
    try { c = JSON.parse(r.m); } catch (e) { return; }
    if (!c || !c.definition || !c["case"] || !validResult[c.result]) { return; }
    var tr = document.createElement("tr");
    cell(tr, String(c.definition));
    var name = cell(tr, String(c["case"]));
    if (c.set) {
      var set = document.createElement("span");
      set.className = "muted"; set.textContent = "(" + c.set + ")";
      name.appendChild(document.createTextNode(" ")); name.appendChild(set);
    }
    cell(tr, c.result, "st-" + c.result);
    cell(tr, measurement(c.measurement));
    cell(tr, c.units ? String(c.units) : "");
    var line = c.starttc || r.i;
    var td = cell(tr, "", "hide-sm"), a = document.createElement("a");
    a.href = "?log_start=" + line + "#L" + line; a.textContent = line;
    td.appendChild(a);
    resultsBody.appendChild(tr);
    var wrap = document.getElementById("results-wrap"), none = document.getElementById("no-results");
    if (wrap) { wrap.hidden = false; }
    if (none) { none.hidden = true; }
  }

  var es = new EventSource("/jobs/" + job + "/log/stream?from=" + next);
  if (status) { status.textContent = "following live"; status.className = "live"; }
  es.onmessage = function (e) {
    var follow = atBottom();
    var r = JSON.parse(e.data);
    add(r);
    result(r);
    if (follow) { window.scrollTo(0, document.body.scrollHeight); }
  };
  es.addEventListener("end", function () {
    es.close();
    if (status) { status.textContent = "job finished"; status.className = "muted"; }
    // Reload once for the final state and the results table.
    if (log.dataset.live === "true") {
      setTimeout(function () { window.location.reload(); }, 500);
    }
  });
  es.onerror = function () {
    if (status) { status.textContent = "reconnecting…"; status.className = "muted"; }
  };
  es.onopen = function () {
    if (status) { status.textContent = "following live"; status.className = "live"; }
  };
})();
