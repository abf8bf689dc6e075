/* The back-office's pages, after they load (templates/admin/base_site.html):

   - tables: static/css/backoffice.css shows a row as a card on a phone (and the lines of a
     return or an order on any screen); each cell gets its column's heading (data-label) so
     that a value is never shown without its name. Without JavaScript the cards are still
     there, unlabelled.
   - a list's search box is labelled by a magnifier image only: the label gets the search
     button's (translated) text for screen readers, and the image becomes decoration.
   - Django's two-box selectors (filter_horizontal) name their search icon with aria-label
     on a plain <span>, which no role allows: it gets the role of an image. */
(function () {
  "use strict";

  function headingOf(cell) {
    const text = cell.querySelector(".text") || cell;
    return text.textContent.replace(/\s+/g, " ").trim();
  }

  function label(table) {
    const head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (!head) {
      return;
    }
    const headings = [];
    for (const cell of head.cells) {
      const span = cell.colSpan || 1;
      for (let i = 0; i < span; i += 1) {
        headings.push(headingOf(cell));
      }
    }
    for (const body of table.tBodies) {
      for (const row of body.rows) {
        let column = 0;
        for (const cell of row.cells) {
          const heading = headings[column];
          if (heading && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", heading);
          }
          column += cell.colSpan || 1;
        }
      }
    }
  }

  function labelAll() {
    for (const table of document.querySelectorAll("#content table")) {
      label(table);
    }
  }

  function nameSearchBox() {
    const label = document.querySelector("#changelist-search label[for='searchbar']");
    const button = document.querySelector("#changelist-search input[type='submit']");
    if (!label || !button || label.textContent.trim()) {
      return;
    }
    const text = document.createElement("span");
    text.className = "visually-hidden";
    text.textContent = button.value;
    label.append(text);
    for (const image of label.querySelectorAll("img")) {
      image.alt = "";
    }
  }

  function nameSelectorIcons() {
    for (const icon of document.querySelectorAll(".selector .help-tooltip[aria-label]:not([role])")) {
      icon.setAttribute("role", "img");
    }
  }

  function onReady() {
    labelAll();
    nameSearchBox();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", onReady);
  } else {
    onReady();
  }
  // Rows added with "Add another …" are labelled too.
  document.addEventListener("formset:added", labelAll);
  // Django builds the selectors on "load", with a listener added before this one.
  window.addEventListener("load", nameSelectorIcons);
})();
