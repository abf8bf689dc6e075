/* Keyboard shortcuts of the back-office workspace (docs/backoffice.md#keyboard).

   My work:   j / k  next / previous case in the list,  /  search; the bulk bar's
              "tick every case of this page" box.
   Case page: r  reply to the customer,  n  internal note,  a  assign to me,
              ]  /  [  next / previous case of the list last seen in My work.
   Anywhere:  ?  show the shortcuts.

   Keys typed into a field, or with Ctrl, Alt or Meta, are left alone. The case page finds its
   parts by data-shortcut attributes ("reply", "internal", "assign-me"); the list's order is
   kept in sessionStorage when My work is shown, so ] and [ follow the view and sort chosen. */
(function () {
  "use strict";
  var LIST_KEY = "rma-workspace-list";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function part(name) { return document.querySelector('[data-shortcut="' + name + '"]'); }

  function focusField(container, selector) {
    var field = container && container.querySelector(selector);
    if (!field) { return false; }
    field.focus();
    if (field.scrollIntoView) { field.scrollIntoView({ block: "center" }); }
    return true;
  }

  // --- My work ---------------------------------------------------------------------------
  var links = Array.prototype.slice.call(document.querySelectorAll("tr.inbox-row td.number a"));
  if (links.length) {
    try {
      window.sessionStorage.setItem(LIST_KEY, JSON.stringify(links.map(function (a) { return a.pathname; })));
    } catch (ignored) { /* storage refused: ] and [ simply do nothing */ }
  }

  // My work's bulk bar: one box ticks every case of the page (without JavaScript it stays
  // hidden, and each case is ticked on its own).
  var tickAll = document.getElementById("inbox-select-all");
  if (tickAll) {
    var boxes = Array.prototype.slice.call(document.querySelectorAll('tr.inbox-row input[name="cases"]'));
    document.getElementById("inbox-tick-all").hidden = false;
    tickAll.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = tickAll.checked; });
    });
    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        tickAll.checked = boxes.every(function (each) { return each.checked; });
      });
    });
  }

  function moveInList(step) {
    var index = links.indexOf(document.activeElement);
    var next = index === -1 ? (step > 0 ? 0 : links.length - 1) : index + step;
    if (next >= 0 && next < links.length) { links[next].focus(); }
  }

  // --- case pages ------------------------------------------------------------------------
  function neighbour(step) {
    var list;
    try { list = JSON.parse(window.sessionStorage.getItem(LIST_KEY) || "[]"); } catch (ignored) { list = []; }
    var index = list.indexOf(window.location.pathname);
    if (index === -1) { return null; }
    return list[index + step] || null;
  }

  function internalNote() {
    var container = part("internal");
    if (!container) { return false; }
    var radio = container.querySelector('input[data-visibility="internal"]');
    if (radio) { radio.checked = true; }
    return focusField(part("reply"), "textarea");
  }

  function reply() {
    var container = part("internal");
    if (container) {
      var radio = container.querySelector('input[data-visibility="public"]');
      if (radio) { radio.checked = true; }
    }
    return focusField(part("reply"), "textarea");
  }

  function assignToMe() {
    var form = part("assign-me");
    if (!form) { return false; }
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    return true;
  }

  // --- help ------------------------------------------------------------------------------
  var focusBeforeHelp = null;

  function toggleHelp() {
    var help = document.getElementById("workspace-shortcuts");
    if (!help) { return false; }
    if (help.hidden) {
      focusBeforeHelp = document.activeElement;
      help.hidden = false;
      help.focus();
    } else {
      closeHelp(help);
    }
    return true;
  }

  function closeHelp(help) {
    help.hidden = true;
    if (focusBeforeHelp && focusBeforeHelp.focus) { focusBeforeHelp.focus(); }
    focusBeforeHelp = null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) { return; }
    if (document.querySelector("dialog[open]")) { return; }  // the photo viewer has the keys
    var handled = false;
    switch (event.key) {
      case "j": handled = links.length > 0 && (moveInList(1), true); break;
      case "k": handled = links.length > 0 && (moveInList(-1), true); break;
      case "/": handled = focusField(document, ".inbox-filters input[type=search]"); break;
      case "r": handled = reply(); break;
      case "n": handled = internalNote(); break;
      case "a": handled = assignToMe(); break;
      case "]":
      case "[": {
        var target = neighbour(event.key === "]" ? 1 : -1);
        if (target) { window.location.assign(target); handled = true; }
        break;
      }
      case "?": handled = toggleHelp(); break;
      case "Escape": {
        var help = document.getElementById("workspace-shortcuts");
        if (help && !help.hidden) { closeHelp(help); handled = true; }
        break;
      }
      default: break;
    }
    if (handled) { event.preventDefault(); }
  });
}());
