// Copy buttons of the member kit page: shown only where the clipboard API exists (the textareas work without them).
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) {
    return;
  }
  var status = document.querySelector("[data-copy-status]");
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(
        function () {
          if (status) {
            status.textContent = status.getAttribute("data-copied") || "";
          }
        },
        function () {
          source.focus();
          source.select();
        }
      );
    });
  });
})();
