/* KPI dashboard: draws each chart from its JSON spec with the vendored Chart.js. A click on
   a point or bar opens the list behind it (the same link as the table row). The tables stay
   on the page, collapsed once the chart is drawn: they are the charts' accessible form and
   what a browser without JavaScript shows. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var palette = ["#1d5fa8", "#d9822b", "#2f8f4e", "#b3261e", "#6b4fa0", "#4b5563"];
  var locale = document.documentElement.lang || "en";
  var brand = getComputedStyle(document.documentElement).getPropertyValue("--brand").trim();
  if (brand) { palette[0] = brand; }

  function formatter(kind) {
    var number = new Intl.NumberFormat(locale, { maximumFractionDigits: kind === "score" ? 2 : 1 });
    return function (value) {
      if (value === null || value === undefined) { return "—"; }
      return kind === "percent" ? number.format(value) + " %" : number.format(value);
    };
  }

  document.querySelectorAll("figure.chart").forEach(function (figure) {
    var script = figure.querySelector('script[type="application/json"]');
    var canvas = figure.querySelector("canvas");
    if (!script || !canvas) { return; }
    var spec = JSON.parse(script.textContent);
    var format = formatter(spec.format);
    var line = spec.type === "line";
    var datasets = spec.datasets.map(function (set, index) {
      var colour = palette[index % palette.length];
      return {
        label: set.label, data: set.data, borderColor: colour,
        backgroundColor: line ? colour : colour + "cc", spanGaps: false,
        pointRadius: 3, tension: 0.2
      };
    });
    var valueAxis = {
      beginAtZero: true,
      ticks: {
        precision: spec.format === "count" ? 0 : undefined,
        callback: function (value) { return format(value); }
      }
    };
    var chart = new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: line ? "index" : "nearest", intersect: !line },
        scales: spec.horizontal ? { x: valueAxis } : { y: valueAxis },
        plugins: {
          legend: { display: datasets.length > 1 },
          tooltip: { callbacks: { label: function (item) {
            return item.dataset.label + ": " + format(item.raw);
          } } }
        },
        onHover: function (event, elements) {
          event.native.target.style.cursor = elements.length && spec.links ? "pointer" : "default";
        },
        onClick: function (event, elements) {
          if (!elements.length || !spec.links) { return; }
          var link = spec.links[elements[0].index];
          if (link) { window.location.assign(link); }
        }
      }
    });
    figure.classList.add("chart-drawn");
    var details = figure.querySelector("details.chart-table");
    if (details && chart) { details.open = false; }
  });
})();
