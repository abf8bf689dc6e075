/* Back-office complaint page: choosing a canned response shows it, placeholders filled in, in
   a preview under the picker; "Insert" adds that text to the reply once and clears the
   choice, so pressing it again adds nothing. Without this file the picker's form reloads the
   page with the text filled in. The texts come from the page's JSON (json_script
   "canned-texts"); the picker names the reply field in data-fills. */
(function () {
  "use strict";
  var data = document.getElementById("canned-texts");
  var picker = document.getElementById("canned-picker");
  var body = picker && document.getElementById(picker.dataset.fills);
  if (!data || !picker || !body) { return; }
  var texts = JSON.parse(data.textContent);
  var select = picker.querySelector("select");
  if (!select) { return; }

  var preview = document.createElement("blockquote");
  preview.id = "canned-preview";
  preview.className = "canned-preview";
  preview.setAttribute("aria-live", "polite");
  preview.hidden = true;
  picker.insertAdjacentElement("afterend", preview);

  function chosen() { return texts[select.value] || ""; }

  function show() {
    var text = chosen();
    preview.textContent = text;
    preview.hidden = !text;
  }

  function insert() {
    var text = chosen();
    if (!text) { return; }
    var current = body.value.replace(/\s+$/, "");
    body.value = current ? current + "\n\n" + text : text;
    select.value = "";
    show();
    body.focus();
  }

  select.addEventListener("change", show);
  picker.addEventListener("submit", function (event) { event.preventDefault(); insert(); });
}());
