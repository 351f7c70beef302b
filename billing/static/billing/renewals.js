// The renewal run's page: polls the progress every 2 s, updates the bar and the live text,
// and reloads the page when the run is over (the result and the errors then show).
(function () {
  "use strict";
  var section = document.getElementById("run-progress");
  if (!section) { return; }
  var bar = document.getElementById("run-progress-bar");
  var text = document.getElementById("run-progress-text");
  var url = section.getAttribute("data-url");
  var sentence = section.getAttribute("data-text");  // translated in the template
  var format = new Intl.NumberFormat(document.documentElement.lang || "fr");

  function show(data) {
    bar.max = data.total || 1;
    bar.value = data.done;
    var out = sentence;
    ["done", "total", "issued", "skipped", "failed"].forEach(function (key) {
      out = out.replace("{" + key + "}", format.format(data[key]));
    });
    text.textContent = out;
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
