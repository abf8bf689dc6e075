/* Portal: the order picker of the complaint form. The order number field becomes a combobox
   (WAI-ARIA 1.2, list popup): as the customer types, the company's orders that match come
   from the portal's order search (data-search-url, JSON: number, date, products) and are
   listed under the field; the arrow keys move through them, Enter or a click picks one, and
   Escape closes the list. The chosen order's lines are then loaded into the form's line field
   (data-lines-url?part=order-lines&order_number=..., the field alone), as the "Show the
   order's lines" button does without this file. The field keeps the order number: the server checks it whatever the script did.
   Texts come from the page's JSON (json_script, named by data-order-picker). Without this
   file the customer types the number and the form works the same. */
(function () {
  "use strict";
  var DELAY_MS = 150;  // wait for a pause in typing before asking

  function fill(text, name, value) {
    return String(text).split("%(" + name + ")s").join(String(value));
  }

  function setUp(box) {
    var input = box.querySelector("input[name=order_number]");
    var textsNode = document.getElementById(box.dataset.orderPicker);
    if (!input || !input.form || !textsNode || !window.fetch || !window.DOMParser) { return; }
    var texts = JSON.parse(textsNode.textContent);
    var form = input.form;
    var button = form.querySelector("button[name=show_lines]");
    var searchUrl = box.dataset.searchUrl;
    var linesUrl = box.dataset.linesUrl;

    var list = document.createElement("ul");
    list.id = input.id + "-list";
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", texts.list_label);
    list.hidden = true;
    var status = document.createElement("p");
    status.id = input.id + "-status";
    status.className = "hint picker-status";
    status.setAttribute("role", "status");
    var row = input.closest(".with-button") || input;
    row.insertAdjacentElement("afterend", status);
    row.insertAdjacentElement("afterend", list);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    if (button) { button.hidden = true; }

    var results = [];
    var active = -1;
    var asked = 0;  // the number of the latest search: older answers are dropped
    var timer = null;
    var linesAsked = 0;
    var lineField = form.querySelector("#order-line-field");
    // The order whose lines the form shows (after a reload without the script, or a pick).
    var loaded = lineField && lineField.querySelector("select[name=order_line]") ? input.value.trim() : "";

    function say(text) { status.textContent = text || ""; }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = list.children;
      for (var i = 0; i < items.length; i++) {
        var on = i === index;
        items[i].classList.toggle("active", on);
        items[i].setAttribute("aria-selected", on ? "true" : "false");
      }
      active = index;
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render(answer) {
      results = answer.results || [];
      list.textContent = "";
      results.forEach(function (order, index) {
        var item = document.createElement("li");
        item.id = list.id + "-" + index;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.dataset.index = String(index);
        var number = document.createElement("span");
        number.className = "picker-number";
        number.textContent = order.label;
        item.appendChild(number);
        if (order.products) {
          var detail = document.createElement("span");
          detail.className = "picker-detail";
          detail.textContent = order.products;
          item.appendChild(detail);
        }
        list.appendChild(item);
      });
      active = -1;
      if (!results.length) {
        close();
        say(texts.none);
        return;
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      say(fill(texts.count, "count", results.length) + (answer.more ? " " + texts.more : ""));
    }

    function search() {
      timer = null;
      var number = ++asked;
      var url = searchUrl + "?q=" + encodeURIComponent(input.value);
      window.fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (answer) {
          if (number !== asked) { return; }
          if (!answer.ok) {
            close();
            var error = answer.body && answer.body.error;
            say(error && error.message ? error.message : texts.failed);
            return;
          }
          render(answer.body);
        })
        .catch(function () {
          if (number !== asked) { return; }
          close();
          say(texts.failed);
        });
    }

    function searchSoon() {
      if (timer !== null) { window.clearTimeout(timer); }
      timer = window.setTimeout(search, DELAY_MS);
    }

    // The line field of the order with this number (the hint alone for none or an unknown one).
    function loadLines(value) {
      if (value === loaded || !lineField) { return; }
      loaded = value;
      var number = ++linesAsked;
      var url = linesUrl + "?part=order-lines&order_number=" + encodeURIComponent(value);
      window.fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.statusText); }
          return response.text();
        })
        .then(function (html) {
          if (number !== linesAsked) { return; }
          // The field alone: no page with its styles to parse (the policy would refuse them).
          var fresh = new DOMParser().parseFromString(html, "text/html")
            .getElementById("order-line-field");
          if (!fresh) { throw new Error("no order lines"); }
          var replacement = document.importNode(fresh, true);
          lineField.replaceWith(replacement);
          lineField = replacement;
        })
        .catch(function () {
          if (number !== linesAsked) { return; }
          loaded = null;  // unknown: the next change asks again
          if (button) { button.hidden = false; }
        });
    }

    function choose(index) {
      var order = results[index];
      if (!order) { return; }
      input.value = order.number;
      close();
      say(fill(texts.chosen, "number", order.number));
      loadLines(order.number);
    }

    input.addEventListener("input", function () { searchSoon(); });
    input.addEventListener("change", function () { loadLines(input.value.trim()); });
    input.addEventListener("blur", function () { close(); });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown" || event.key === "Down") {
        event.preventDefault();
        if (!open) { search(); return; }
        highlight(Math.min(active + 1, results.length - 1));
      } else if (event.key === "ArrowUp" || event.key === "Up") {
        if (!open) { return; }
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        if (!open) { return; }  // the form's own Enter: it is sent
        event.preventDefault();
        if (active >= 0) {
          choose(active);
        } else if (results.length === 1) {
          choose(0);
        } else {
          close();
          loadLines(input.value.trim());
        }
      } else if (event.key === "Escape" || event.key === "Esc") {
        if (open) { event.preventDefault(); close(); }
      }
    });
    // A press on the list keeps the focus in the field; the click then picks.
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var item = event.target.closest("[role=option]");
      if (item) { choose(parseInt(item.dataset.index, 10)); }
    });
  }

  document.querySelectorAll("[data-order-picker]").forEach(setUp);
}());
