/* Portal: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Show a block only while a choice has a given value (courier pickup fields, "other" reason).
  // Blocks holding an error stay visible so the message is never hidden.
  function valueOf(form, name) {
    var fields = form.querySelectorAll("[name=\"" + CSS.escape(name) + "\"]");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.type === "radio" || field.type === "checkbox") {
        if (field.checked) { return field.value; }
      } else {
        return field.value;
      }
    }
    return "";
  }

  function refresh(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (block) {
      var wanted = valueOf(form, block.dataset.showWhen) === block.dataset.showValue;
      var hasError = block.classList.contains("has-error") || block.querySelector(".error");
      block.hidden = !wanted && !hasError;
    });
  }

  document.querySelectorAll("form").forEach(function (form) {
    if (!form.querySelector("[data-show-when]")) { return; }
    refresh(form);
    form.addEventListener("change", function () { refresh(form); });
  });

  // Ask before what cannot be undone (cancelling a draft or a return).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  // New complaint: load the chosen order's lines in place instead of reloading the form
  // (which would drop chosen files). Without this, "Show the order's lines" does the same.
  document.querySelectorAll("form[data-order-lines]").forEach(function (form) {
    var order = form.querySelector("select[name=order]");
    var button = form.querySelector("button[name=show_lines]");
    if (!order || !window.fetch || !window.DOMParser) { return; }
    if (button) { button.hidden = true; }
    order.addEventListener("change", function () {
      var url = form.dataset.orderLines + "?order=" + encodeURIComponent(order.value);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.statusText); }
          return response.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html")
            .getElementById("order-line-field");
          var current = form.querySelector("#order-line-field");
          if (!fresh || !current) { throw new Error("no order lines"); }
          current.replaceWith(document.importNode(fresh, true));
        })
        .catch(function () { if (button) { button.hidden = false; } });
    });
  });
}());
