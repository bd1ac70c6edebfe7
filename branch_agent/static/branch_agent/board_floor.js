/* Display board, the parts around the call: the list of the last calls and the running text line
   the head of office sets (kiosk and board settings page). Fed by board.js's poll
   ("pst:board-state" events); no request of its own. */
(function () {
  "use strict";
  var root = document.getElementById("board");
  if (!root) return;
  var list = root.querySelector("[data-recent]");
  var ticker = root.querySelector("[data-ticker]");
  var tickerText = ticker.querySelector(".board-ticker-text");

  function renderRecent(recent) {
    var key = JSON.stringify(recent);
    if (list.dataset.shown === key) return;
    list.dataset.shown = key;
    list.textContent = "";
    if (!recent.length) {
      var none = document.createElement("li");
      none.className = "board-recent-none"; none.textContent = "\u2014";
      list.appendChild(none);
      return;
    }
    recent.forEach(function (r) {
      var li = document.createElement("li");
      var number = document.createElement("span"), desk = document.createElement("span");
      number.className = "board-recent-number"; number.textContent = r.queue_number;
      desk.className = "board-recent-desk"; desk.textContent = list.dataset.deskLabel + " " + r.desk;
      li.appendChild(number); li.appendChild(document.createTextNode(" ")); li.appendChild(desk);
      list.appendChild(li);
    });
  }

  function renderTicker(text) {
    text = text || "";
    if (tickerText.textContent === text) return;
    tickerText.textContent = text;
    tickerText.style.setProperty("--chars", String(text.length));
    ticker.hidden = !text;
  }

  root.addEventListener("pst:board-state", function (event) {
    var s = event.detail || {};
    if (Array.isArray(s.recent)) renderRecent(s.recent);
    if (typeof s.running_text === "string") renderTicker(s.running_text);
  });
})();
