// "Remplir depuis le répertoire SIRENE" on the member form: asks the staff endpoint for the SIREN typed,
// fills the fields that are still empty, and says what it did in the live region.
(function () {
  "use strict";
  var box = document.querySelector("[data-sirene-url]");
  if (!box) { return; }
  var button = box.querySelector("[data-sirene-button]");
  var status = box.querySelector("[data-sirene-status]");
  var sirenInput = document.getElementById(box.getAttribute("data-siren-input") || "id_siren");
  var urlTemplate = box.getAttribute("data-sirene-url");
  function say(name) { return box.getAttribute("data-text-" + name) || ""; }
  var FIELDS = ["legal_name", "trade_name", "siret", "vat_number", "naf_code", "legal_form",
                "address_line1", "address_line2", "postcode", "city", "headcount_band"];

  function fill(fields) {
    var filled = 0;
    FIELDS.forEach(function (name) {
      var input = document.getElementById("id_" + name);
      var value = fields[name];
      if (input && value && !input.value) {
        input.value = value;
        input.dispatchEvent(new Event("change", { bubbles: true }));
        filled += 1;
      }
    });
    var ess = document.getElementById("id_is_ess");
    if (ess && fields.is_ess && !ess.checked) { ess.checked = true; filled += 1; }
    return filled;
  }

  button.addEventListener("click", function () {
    var siren = (sirenInput && sirenInput.value || "").replace(/\s+/g, "");
    if (!/^\d{9}$/.test(siren)) {
      status.textContent = say("need-siren");
      if (sirenInput) { sirenInput.focus(); }
      return;
    }
    button.disabled = true;
    status.textContent = say("searching");
    fetch(urlTemplate.replace("000000000", siren), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.code !== "found") { status.textContent = data.message || say("unavailable"); return; }
        var filled = fill(data.fields);
        var text = say("filled").replace("{count}", filled);
        if (!data.fields.is_active) { text += " " + say("ceased"); }
        status.textContent = text;
      })
      .catch(function () { status.textContent = say("unavailable"); })
      .then(function () { button.disabled = false; });
  });
})();
