/* Display board: polls the branch every second, shows the numbers called per desk, and announces
   each new call with a chime and the Indonesian voice clips of voice.js ("Nomor antrian K-007,
   silakan ke meja 1"). Browsers only play sound after a first interaction, hence the "turn on
   sound" button (remembered for the session), not shown when the browser allows sound anyway
   (a board PC's Chromium with --autoplay-policy=no-user-gesture-required, docs/voice.md). */
(function () {
  "use strict";
  var root = document.getElementById("board");
  if (!root) return;
  var url = root.dataset.stateUrl;
  var seen = null; // call ids already announced; null until the first poll (no replay on load)
  var queue = [];
  var speaking = false;
  var audio = null;
  var soundOn = sessionStorage.getItem("pst-board-sound") === "1" ||
    Boolean(window.PSTVoice && window.PSTVoice.autoplayAllowed());
  var soundButton = root.querySelector("[data-enable-sound]");
  if (soundOn) soundButton.hidden = true;
  soundButton.addEventListener("click", function () {
    soundOn = true; sessionStorage.setItem("pst-board-sound", "1");
    soundButton.hidden = true; chime();
  });

  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [659.25, 523.25].forEach(function (freq, i) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        var t = audio.currentTime + i * 0.45;
        osc.type = "sine"; osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, t);
        gain.gain.exponentialRampToValueAtTime(0.4, t + 0.03);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.8);
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(t); osc.stop(t + 0.85);
      });
    } catch (e) { /* no audio on this device: the board still shows the call */ }
  }

  function showNow(call) {
    var now = root.querySelector(".board-now");
    now.querySelector(".board-now-number").textContent = call.queue_number;
    now.querySelector(".board-now-desk").textContent = call.text.split(",").slice(1).join(",").trim();
    return now;
  }

  function next() {
    if (speaking || !queue.length) return;
    var call = queue.shift();
    speaking = true;
    var now = showNow(call);
    now.classList.remove("flash"); void now.offsetWidth; now.classList.add("flash");
    var done = function () { speaking = false; setTimeout(next, 400); };
    if (!soundOn) { setTimeout(done, 3000); return; }
    chime();
    if (!window.PSTVoice) { setTimeout(done, 3000); return; }
    setTimeout(function () { window.PSTVoice.announce(call, { chime: chime, done: done }); }, 1300);
  }

  function render(state) {
    state.desks.forEach(function (row) {
      var el = root.querySelector('.board-desk[data-desk="' + row.desk + '"] .board-desk-number');
      if (el) el.textContent = row.visit ? row.visit.queue_number : "—";
    });
    state.waiting.forEach(function (w) {
      var el = root.querySelector('.board-wait[data-letter="' + w.letter + '"] .n');
      if (el) el.textContent = w.count;
    });
    var fresh = [];
    state.calls.forEach(function (c) {
      if (seen !== null && !seen[c.call_id]) fresh.push(c);
    });
    if (seen === null && state.calls.length) {
      // Opened (or reloaded) while visitors are being called: show the latest, silently.
      var latest = state.calls.slice().sort(function (a, b) {
        return (a.called_at || "").localeCompare(b.called_at || "");
      }).pop();
      showNow(latest);
    }
    seen = seen || {};
    state.calls.forEach(function (c) { seen[c.call_id] = true; });
    fresh.sort(function (a, b) { return (a.called_at || "").localeCompare(b.called_at || ""); });
    queue = queue.concat(fresh);
    next();
  }

  function poll() {
    fetch(url, { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (s) {
        root.querySelector(".board-offline").hidden = true;
        learnClock(s.now, s.utc_offset_minutes);
        if (s.time_zone) clock.querySelector(".board-clock-zone").textContent = s.time_zone;
        render(s);
        root.dispatchEvent(new CustomEvent("pst:board-state", { detail: s }));
      })
      .catch(function () { root.querySelector(".board-offline").hidden = false; })
      .finally(function () { setTimeout(poll, 1000); });
  }

  // The clock shows the branch's time (its PC's clock and time zone, e.g. WIB), never the TV's
  // own time zone or clock: the offset and the branch PC's "now" come with every poll.
  var clock = root.querySelector("[data-clock]");
  var offsetMinutes = parseInt(clock.dataset.utcOffset || "0", 10);
  var skew = 0; // branch PC clock minus this screen's clock, in ms
  function learnClock(serverNow, offset) {
    var t = Date.parse(serverNow);
    if (!isNaN(t)) skew = t - Date.now();
    if (typeof offset === "number") offsetMinutes = offset;
  }
  learnClock(clock.dataset.serverNow);
  function showClock() {
    var branch = new Date(Date.now() + skew + offsetMinutes * 60000);
    clock.querySelector(".board-clock-time").textContent =
      ("0" + branch.getUTCHours()).slice(-2) + ":" + ("0" + branch.getUTCMinutes()).slice(-2);
  }
  showClock();
  setInterval(showClock, 1000);
  poll();
})();
