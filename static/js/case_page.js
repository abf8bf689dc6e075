/* The photo viewer of the case pages (templates/admin/_case_viewer.html).

   A thumbnail (a.thumb[data-viewer]) opens its photo in a dialog with the photo's name; the
   previous and next buttons, and the arrow keys, go through the photos of the same group
   (the conversation's, or the case's files); Escape or Close shuts it and gives the focus
   back to the thumbnail. Without JavaScript a thumbnail is a link to the photo itself. */
(function () {
  "use strict";
  var dialog = document.getElementById("photo-viewer");
  if (!dialog || typeof dialog.showModal !== "function") { return; }
  var image = dialog.querySelector("img");
  var caption = dialog.querySelector("figcaption");
  var original = dialog.querySelector("[data-original]");
  var group = [];
  var index = 0;
  var opener = null;

  function show(position) {
    index = (position + group.length) % group.length;
    var link = group[index];
    image.src = link.href;
    image.alt = link.title;
    caption.textContent = link.title + " (" + (index + 1) + " / " + group.length + ")";
    original.href = link.href;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.thumb[data-viewer]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
    event.preventDefault();
    opener = link;
    group = Array.prototype.slice.call(
      document.querySelectorAll('a.thumb[data-viewer="' + link.getAttribute("data-viewer") + '"]')
    );
    show(group.indexOf(link));
    dialog.showModal();
  });

  dialog.addEventListener("click", function (event) {
    var step = event.target.getAttribute && event.target.getAttribute("data-step");
    if (step) { show(index + parseInt(step, 10)); return; }
    if (event.target.hasAttribute && event.target.hasAttribute("data-close")) { dialog.close(); }
  });

  dialog.addEventListener("keydown", function (event) {
    if (event.key === "ArrowRight") { show(index + 1); event.preventDefault(); }
    if (event.key === "ArrowLeft") { show(index - 1); event.preventDefault(); }
  });

  dialog.addEventListener("close", function () {
    image.removeAttribute("src");
    if (opener) { opener.focus(); }
  });
}());
