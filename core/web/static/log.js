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

  var es = new EventSource("/jobs/" + job + "/log/stream?from=" + next);
  if (status) { status.textContent = "following live"; status.className = "live"; }
  es.onmessage = function (e) {
    var follow = atBottom();
    add(JSON.parse(e.data));
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
