/* Back-office case pages (returns, complaints): who else has this case open.
   Reports this user to the case's presence endpoint when the page opens, every
   data-heartbeat-seconds after, and at once when they start or stop typing a reply (the reply
   box has the focus or unsent text); each answer lists the others, shown in every
   [data-case-presence] region of the page (templates/admin/_case_presence.html). Leaving the
   page says so. A 403 or 404 (signed out, case gone) stops the reports. Without this file the
   regions stay empty.
   window.casePresence.refresh() asks who is here without reporting, heartbeat() reports and
   leave() says the page is left; each returns a promise. */
(function () {
  "use strict";
  var top = document.getElementById("case-presence");
  if (!top || !window.fetch) { return; }
  var url = top.dataset.url;
  var csrf = top.dataset.csrf;
  var regions = document.querySelectorAll("[data-case-presence]");
  var fieldHolder = document.querySelector("[data-case-presence][data-reply-field]");
  var field = fieldHolder && document.getElementById(fieldHolder.dataset.replyField);
  var seconds = parseInt(top.dataset.heartbeatSeconds, 10) || 15;
  var timer = null;
  var stopped = false;  // refused (signed out, case gone): nothing more is sent
  var away = false;  // the page said it is left: no reports until it is shown again
  var shown = null;
  var reported = null;
  var asked = 0;
  var rendered = 0;
  var pending = 0;  // requests under way: the timer sends no more while one is (a slow server)

  function typing() {
    return !!field && (document.activeElement === field || field.value.trim() !== "");
  }

  function keyOf(others) {
    return JSON.stringify(others.map(function (other) {
      return (other.typing ? "1" : "0") + other.text;
    }));
  }

  function render(others) {
    var key = keyOf(others);
    if (key === shown) { return; }  // the live region speaks only when something changed
    shown = key;
    regions.forEach(function (region) {
      region.textContent = "";
      if (!others.length) { return; }
      var list = document.createElement("ul");
      list.className = "case-presence-list";
      others.forEach(function (other) {
        var item = document.createElement("li");
        if (other.typing) { item.className = "typing"; }
        item.textContent = other.text;
        list.appendChild(item);
      });
      region.appendChild(list);
    });
  }

  function stop() {
    stopped = true;
    if (timer !== null) { window.clearInterval(timer); timer = null; }
  }

  function ask(state, keepalive) {
    if (stopped) { return Promise.resolve(); }
    var number = ++asked;
    var options = {
      method: state ? "POST" : "GET",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf },
      keepalive: !!keepalive
    };
    if (state) { options.body = new URLSearchParams({ state: state }); }
    pending += 1;
    return window.fetch(url, options).then(function (response) {
      if (response.status === 403 || response.status === 404) { stop(); return; }
      if (!response.ok) { return; }
      return response.json().then(function (answer) {
        // An answer overtaken by a later one that is already shown is stale.
        if (state === "left" || number < rendered) { return; }
        rendered = number;
        render(answer.others || []);
      });
    }).catch(function () {
      /* offline for a moment: the next report tries again */
    }).then(function () { pending -= 1; });
  }

  function heartbeat() {
    if (away) { return Promise.resolve(); }
    reported = typing() ? "typing" : "viewing";
    return ask(reported);
  }

  function refresh() { return ask(null); }

  function tick() {
    if (!pending) { heartbeat(); }
  }

  function leave() {
    away = true;
    reported = null;
    if (timer !== null) { window.clearInterval(timer); timer = null; }
    return ask("left", true);
  }

  function typingChanged() {
    var now = typing() ? "typing" : "viewing";
    if (now !== reported) { heartbeat(); }
  }

  function start() {
    if (stopped || timer !== null) { return; }
    away = false;
    heartbeat();
    timer = window.setInterval(tick, seconds * 1000);
  }

  shown = keyOf([]);  // the page comes with nobody shown
  if (field) {
    field.addEventListener("focus", typingChanged);
    field.addEventListener("blur", typingChanged);
    field.addEventListener("input", typingChanged);
  }
  window.addEventListener("pagehide", leave);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { start(); }  // back from the browser's page cache
  });

  window.casePresence = { refresh: refresh, heartbeat: heartbeat, leave: leave };
  start();
}());
