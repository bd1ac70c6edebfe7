/* Small helpers for every page: submit once, auto print, return timers, sync badge refresh,
   live wait clocks on the desk page, rating-kiosk polling. No dependencies. */
(function () {
  "use strict";
  // A form submits once: the server also refuses repeats (form tokens), this just stops the
  // second click from leaving the page in doubt.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-once")) return;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    var submitter = event.submitter;
    if (submitter && submitter.name) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = submitter.name; hidden.value = submitter.value;
      form.appendChild(hidden);
    }
    setTimeout(function () {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  // A form with a number that must never travel back from the server (the guest book's ID
  // number): it is sent in the background; when refused, the answer's form (with its errors and
  // every other field as typed) replaces this one and the browser puts the number back in, so it
  // never appears in a page the server sent. Saved (a redirect), the browser goes to the page
  // named by data-keep-typed; any other answer is shown as it is.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-keep-typed") || !window.fetch || !window.DOMParser) return;
    event.preventDefault();
    if (form.dataset.sent) return;
    form.dataset.sent = "1";
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    var body = new FormData(form);
    if (event.submitter && event.submitter.name) body.append(event.submitter.name, event.submitter.value);
    fetch(form.action || window.location.href,
      { method: "POST", body: body, credentials: "same-origin", redirect: "manual" })
      .then(function (r) {
        if (r.type === "opaqueredirect") return { saved: true };
        return r.text().then(function (html) { return { r: r, html: html }; });
      })
      .then(function (answer) {
        if (answer.saved) {  // saved: go where the server sends (its message waits there)
          window.location.assign(form.dataset.keepTyped || window.location.href);
          return;
        }
        var fresh = answer.r.status === 400 &&
          new DOMParser().parseFromString(answer.html, "text/html").querySelector("form[data-keep-typed]");
        if (fresh) {
          var kept = {};
          form.querySelectorAll("[data-secret]").forEach(function (i) { kept[i.name] = i.value; });
          var node = document.importNode(fresh, true);
          form.replaceWith(node);
          node.querySelectorAll("[data-secret]").forEach(function (i) {
            if (kept[i.name]) i.value = kept[i.name];
          });
          var wrong = node.querySelector(".has-error input, .has-error select, .has-error textarea");
          if (wrong) wrong.focus();
          return;
        }
        document.open(); document.write(answer.html); document.close();
      })
      .catch(function () {
        delete form.dataset.sent;
        buttons.forEach(function (b) { b.disabled = false; });
      });
  });

  // Desk shortcuts (N call next, R call again, S start, X did not come), never while typing.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.repeat) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    var button = document.querySelector('button[data-key="' + event.key.toLowerCase() + '"]');
    if (button && !button.disabled) { event.preventDefault(); button.click(); }
  });

  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  var ticket = document.querySelector("[data-autoprint]");
  if (ticket) { setTimeout(function () { window.print(); }, 300); }
  var back = document.querySelector("[data-return]");
  if (back) {
    setTimeout(function () { window.location.href = back.dataset.return; },
      1000 * parseInt(back.dataset.returnAfter || "10", 10));
  }

  // A kiosk page in a visitor's own language goes back to the office's default language when
  // nobody touches it for a while (the next visitor finds it in Indonesian).
  var idle = document.querySelector("[data-idle-return]");
  if (idle) {
    var idleTimer = null;
    var restart = function () {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(function () { window.location.href = idle.dataset.idleReturn; },
        1000 * parseInt(idle.dataset.idleAfter || "60", 10));
    };
    ["pointerdown", "keydown", "touchstart"].forEach(function (name) {
      document.addEventListener(name, restart, { passive: true });
    });
    restart();
  }

  // A list that other people change (the front office's visitors): fetched again in the
  // background and swapped in place, never while the keyboard focus is inside it, so nobody loses
  // their place; the status line says when it last changed (read politely by screen readers).
  var region = document.querySelector("[data-refresh-region]");
  if (region && window.fetch && window.DOMParser) {
    var status = document.querySelector("[data-refresh-status]");
    setInterval(function () {
      if (region.contains(document.activeElement) && document.activeElement !== document.body) return;
      fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok || r.redirected) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-refresh-region]");
          if (!fresh || fresh.innerHTML === region.innerHTML) return;
          if (region.contains(document.activeElement) && document.activeElement !== document.body) return;
          region.innerHTML = fresh.innerHTML;
          if (status) {
            var d = new Date();
            status.textContent = status.dataset.updated + " " +
              ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2) + ".";
          }
        })
        .catch(function () { /* offline for a moment: the list stays as it is */ });
    }, 1000 * parseInt(region.dataset.refreshEvery || "15", 10));
  }

  function getJSON(url, done) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(done).catch(function () { done(null); });
  }

  var badge = document.querySelector(".sync-badge[data-sync-url]");
  if (badge) {
    setInterval(function () {
      getJSON(badge.dataset.syncUrl, function (s) {
        if (!s) return;
        badge.classList.toggle("online", s.online);
        badge.classList.toggle("offline", !s.online);
        badge.classList.toggle("key-problem", !!s.key_problem);
        badge.querySelector(".state").textContent = s.online ? badge.dataset.online
          : (s.key_problem ? badge.dataset.keyProblem : badge.dataset.offline);
        badge.querySelector(".pending").textContent = s.pending_ops;
        var last = badge.querySelector(".last");
        if (s.last_sync_at) {
          var d = new Date(s.last_sync_at);
          last.textContent = ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
        }
      });
    }, 5000);
  }

  function mmss(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + ("0" + s).slice(-2);
  }
  var desk = document.querySelector("[data-queue-url]");
  if (desk) {
    var rows = desk.querySelector("[data-waiting-rows]");
    var tick = function () {
      rows.querySelectorAll("[data-wait]").forEach(function (cell) {
        var s = parseInt(cell.dataset.wait, 10) + 1;
        cell.dataset.wait = s; cell.textContent = mmss(s);
      });
    };
    rows.querySelectorAll("[data-wait]").forEach(function (c) { c.textContent = mmss(parseInt(c.dataset.wait, 10)); });
    setInterval(tick, 1000);
    setInterval(function () {
      getJSON(desk.dataset.queueUrl, function (q) {
        if (!q) return;
        rows.innerHTML = "";
        q.waiting.forEach(function (w) {
          var tr = document.createElement("tr");
          tr.className = "wait-" + w.level;
          [w.queue_number, w.service, null, w.guestbook ? rows.dataset.yes : rows.dataset.no].forEach(function (v, i) {
            var td = document.createElement("td");
            if (i === 2) { td.dataset.wait = w.wait_seconds; td.textContent = mmss(w.wait_seconds); }
            else { td.textContent = v; }
            tr.appendChild(td);
          });
          rows.appendChild(tr);
        });
        var more = q.waiting_total - q.waiting.length;
        if (more > 0) {
          var tr = document.createElement("tr"), td = document.createElement("td");
          tr.className = "more"; td.colSpan = 4; td.className = "muted";
          td.textContent = "+" + more + " " + rows.dataset.more;
          tr.appendChild(td); rows.appendChild(tr);
        }
      });
    }, 4000);
  }

  // A rating form left open by a visitor who walked away: when the desk sends the next visitor,
  // show the form for them (the server also refuses to save under the wrong number).
  var ratingForm = document.querySelector("[data-poll-form]");
  if (ratingForm) {
    setInterval(function () {
      if (ratingForm.dataset.sent) return;
      getJSON(ratingForm.dataset.pollForm, function (s) {
        if (s && s.queue_number !== ratingForm.dataset.ratingFor) window.location.reload();
      });
    }, 2000);
  }

  var waitScreen = document.querySelector("[data-poll]");
  if (waitScreen) {
    setInterval(function () {
      getJSON(waitScreen.dataset.poll, function (s) { if (s && s.pending) window.location.reload(); });
    }, 2000);
  }
})();
