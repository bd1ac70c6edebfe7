/* The visitor's live page: polls its state and updates the text in place (an aria-live region,
   so a screen reader hears "your number is being called"); keeps the last view when offline. */
(function () {
  "use strict";
  var root = document.querySelector(".live[data-live-url]");
  if (!root) return;
  var every = (parseInt(root.dataset.refresh, 10) || 15) * 1000;
  var status = root.querySelector(".live-status");
  function render(state) {
    status.dataset.status = state.status;
    root.querySelector(".live-text").textContent = state.text;
    var estimate = root.querySelector(".live-estimate");
    estimate.hidden = !state.estimate_text;
    estimate.querySelector("span").textContent = state.estimate_text || "";
    root.querySelector(".live-time").textContent = (state.at || "").slice(11, 16);
  }
  function poll() {
    fetch(root.dataset.liveUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) { if (state) render(state); })
      .catch(function () {})
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();
