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
}());
