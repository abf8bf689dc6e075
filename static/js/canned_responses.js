/* Back-office complaint page: picking a canned response fills it into the reply at once.
   Without this file the picker's form reloads the page with the text filled in. The texts
   come from the page's JSON (json_script "canned-texts"); the picker names the reply field
   in data-fills. */
(function () {
  "use strict";
  var data = document.getElementById("canned-texts");
  var picker = document.getElementById("canned-picker");
  var body = picker && document.getElementById(picker.dataset.fills);
  if (!data || !picker || !body) { return; }
  var texts = JSON.parse(data.textContent);
  var select = picker.querySelector("select");
  if (!select) { return; }

  function insert() {
    var text = texts[select.value];
    if (!text) { return; }
    var current = body.value.replace(/\s+$/, "");
    body.value = current ? current + "\n\n" + text : text;
    body.focus();
  }

  select.addEventListener("change", insert);
  picker.addEventListener("submit", function (event) { event.preventDefault(); insert(); });
}());
