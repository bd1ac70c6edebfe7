/* The board's voice call, composed from short Indonesian clips (issue 18): "nomor antrian · a ·
   dua · belas · silakan ke · meja · dua" for A-012 at desk 2. Same composition as
   branch_agent/voice_words.py (a browser test compares them for every number up to 9999).

   Each clip plays through one <audio> element on the board, from the first source that works:
   the office's own recording -> the shipped clip -> the PC's speech voice, only if the branch
   admin picked "OS voice" -> nothing: the rest of the call is left out and the board chimes again
   (the chime has already sounded before the clips; a call is never silent). board.js calls
   PSTVoice.announce(call, {chime, done}) after its chime, and PSTVoice.autoplayAllowed() to know
   whether the browser lets it play sound without a click (Chromium started with
   --autoplay-policy=no-user-gesture-required on a board PC). */
(function () {
  "use strict";
  var DIGITS = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"];
  var QUEUE_NUMBER = /^([A-Za-z])-?(\d{1,4})$/;
  var STALL_MS = 10000; // a clip that neither ends nor fails this long is given up

  function numberWords(n) {
    if (typeof n !== "number" || n % 1 !== 0 || n < 0 || n > 9999) return null;
    if (n === 0) return ["nol"];
    var words = [], thousands = Math.floor(n / 1000), rest = n % 1000;
    if (thousands) words = words.concat(thousands === 1 ? ["seribu"] : [DIGITS[thousands], "ribu"]);
    var hundreds = Math.floor(rest / 100); rest = rest % 100;
    if (hundreds) words = words.concat(hundreds === 1 ? ["seratus"] : [DIGITS[hundreds], "ratus"]);
    if (rest === 10) words.push("sepuluh");
    else if (rest === 11) words.push("sebelas");
    else if (rest >= 12 && rest <= 19) words.push(DIGITS[rest - 10], "belas");
    else if (rest >= 20) {
      words.push(DIGITS[Math.floor(rest / 10)], "puluh");
      if (rest % 10) words.push(DIGITS[rest % 10]);
    } else if (rest) words.push(DIGITS[rest]);
    return words;
  }

  // The clip keys of a call, or null when the number or desk cannot be spoken.
  function compose(queueNumber, desk) {
    var m = QUEUE_NUMBER.exec(String(queueNumber).trim());
    var deskText = String(desk).trim();
    if (!m || !/^[0-9]+$/.test(deskText)) return null;
    var number = numberWords(parseInt(m[2], 10)), deskWords = numberWords(parseInt(deskText, 10));
    if (!number || !deskWords) return null;
    return ["nomor_antrian", "letter_" + m[1].toLowerCase()].concat(number, ["silakan_ke", "meja"], deskWords);
  }

  // The board, or the voice admin page's example call: whichever element names the clip list.
  var root = document.getElementById("board") || document.querySelector("[data-voice-url]");
  var config = null; // {os_voice, clips: {key: {text, sources: [office?, shipped]}}}
  var player = null;

  function refresh() {
    var url = root && root.dataset.voiceUrl;
    if (!url) return Promise.resolve(config);
    return fetch(url, { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (c) { config = c; return c; })
      .catch(function () { return config; }); // offline for a moment: the last list still works
  }

  function audioElement() {
    if (!player) {
      player = document.createElement("audio");
      player.className = "board-voice";
      player.preload = "auto";
      player.hidden = true;
      (root || document.body).appendChild(player);
    }
    return player;
  }

  function playSource(src) {
    return new Promise(function (resolve, reject) {
      var el = audioElement(), settled = false, stall;
      function finish(ok) {
        if (settled) return;
        settled = true;
        clearTimeout(stall);
        el.removeEventListener("ended", onEnded);
        el.removeEventListener("error", onError);
        if (ok) resolve(); else { el.pause(); reject(new Error("cannot play " + src)); }
      }
      function onEnded() { finish(true); }
      function onError() { finish(false); }
      el.addEventListener("ended", onEnded);
      el.addEventListener("error", onError);
      stall = setTimeout(onError, STALL_MS);
      el.src = src;
      var started = el.play();
      if (started && started.catch) started.catch(onError);
    });
  }

  function indonesianVoice() {
    var voices = window.speechSynthesis.getVoices();
    for (var i = 0; i < voices.length; i++) {
      if (voices[i].lang && voices[i].lang.replace("_", "-").toLowerCase().indexOf("id") === 0) return voices[i];
    }
    return null;
  }

  function speak(text) {
    return new Promise(function (resolve, reject) {
      if (!("speechSynthesis" in window)) { reject(new Error("no speech voice")); return; }
      var say = new SpeechSynthesisUtterance(text), stall;
      say.lang = "id-ID";
      var voice = indonesianVoice(); if (voice) say.voice = voice;
      say.rate = 0.9;
      say.onend = function () { clearTimeout(stall); resolve(); };
      say.onerror = function () { clearTimeout(stall); reject(new Error("speech failed")); };
      stall = setTimeout(say.onerror, STALL_MS);
      window.speechSynthesis.speak(say);
    });
  }

  // One clip from the first source that plays; rejects when none does.
  function playClip(key) {
    var clip = config && config.clips && config.clips[key];
    var sources = (clip && clip.sources) || [];
    var attempt = Promise.reject(new Error("no source"));
    sources.forEach(function (src) {
      attempt = attempt.catch(function () { return playSource(src); });
    });
    if (config && config.os_voice && clip) {
      attempt = attempt.catch(function () { return speak(clip.text); });
    }
    return attempt;
  }

  function announce(call, opts) {
    var keys = compose(call.queue_number, call.desk);
    var chime = opts.chime || function () {};
    var done = opts.done || function () {};
    refresh().then(function () {
      if (!keys || !config) { chime(); done(); return; }
      var i = 0;
      (function step() {
        if (i >= keys.length) { done(); return; }
        playClip(keys[i++]).then(step, function () { chime(); done(); });
      })();
    });
  }

  // True when this browser lets the board play sound without a click (a board PC's Chromium
  // started with --autoplay-policy=no-user-gesture-required): then no "sound on" button.
  function autoplayAllowed() {
    try {
      if (navigator.getAutoplayPolicy) return navigator.getAutoplayPolicy("mediaelement") === "allowed";
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return false;
      var probe = new Context(), running = probe.state === "running";
      probe.close();
      return running;
    } catch (e) {
      return false;
    }
  }

  window.PSTVoice = {
    compose: compose, numberWords: numberWords, announce: announce,
    autoplayAllowed: autoplayAllowed, refresh: refresh,
  };
  if (root) refresh();
})();
