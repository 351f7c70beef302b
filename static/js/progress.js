// A long job's page (member import, news e-mailing, renewal run): polls the job's JSON progress every 2 s,
// updates the bar and the live sentence, and reloads the page when the job is over (its report then shows).
// Markup: <section data-progress-url="…" data-done-key="processed" data-text-total="{done} of {total}"
// data-text-count="{done} done"> holding <progress data-progress-bar> and <p data-progress-text aria-live="polite">.
// Each {key} of a sentence takes the JSON's number of that name; {done} takes the done key's.
(function () {
  "use strict";
  var section = document.querySelector("[data-progress-url]");
  if (!section) { return; }
  var bar = section.querySelector("[data-progress-bar]");
  var text = section.querySelector("[data-progress-text]");
  var url = section.getAttribute("data-progress-url");
  var doneKey = section.getAttribute("data-done-key") || "done";
  var withTotal = section.getAttribute("data-text-total");
  var withoutTotal = section.getAttribute("data-text-count") || withTotal;
  var format = new Intl.NumberFormat(document.documentElement.lang || "fr");

  function show(data) {
    var values = Object.assign({}, data, { done: data[doneKey] });
    if (data.total) {
      bar.max = data.total;
      bar.value = values.done;
    }
    text.textContent = (data.total ? withTotal : withoutTotal).replace(/\{(\w+)\}/g, function (all, key) {
      return typeof values[key] === "number" ? format.format(values[key]) : all;
    });
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
