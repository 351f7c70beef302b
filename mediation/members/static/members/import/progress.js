// The import status page: polls the progress every 2 s, updates the bar and the live text,
// and reloads the page when the check or the import is over (the report then shows).
(function () {
  "use strict";
  var section = document.getElementById("import-progress");
  if (!section) { return; }
  var bar = document.getElementById("import-progress-bar");
  var text = document.getElementById("import-progress-text");
  var url = section.getAttribute("data-url");
  var lang = document.documentElement.lang || "fr";
  var format = new Intl.NumberFormat(lang);

  // The sentences come translated from the template's data attributes.
  var withTotal = section.getAttribute("data-text-total");
  var withoutTotal = section.getAttribute("data-text-count");

  function show(data) {
    var done = format.format(data.processed);
    if (data.total) {
      bar.max = data.total;
      bar.value = data.processed;
      text.textContent = withTotal.replace("{done}", done).replace("{total}", format.format(data.total));
    } else {
      text.textContent = withoutTotal.replace("{done}", done);
    }
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (!data.running) { window.location.reload(); return; }
        show(data);
      })
      .catch(function () { /* a missed poll is retried */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
