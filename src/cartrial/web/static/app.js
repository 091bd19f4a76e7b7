/* cartrial pages: small progressive enhancements; every page works without this file. */
(function () {
  "use strict";

  /* After an htmx form check, mark each input whose error box is filled as invalid (aria-invalid), so
     that screen readers announce it with its error text (tied with aria-describedby). */
  function markInvalid(root) {
    var boxes = (root || document).querySelectorAll(".field-error[id^='err-']");
    boxes.forEach(function (box) {
      var name = box.id.slice(4);
      var input = document.getElementById("in-" + name);
      if (!input) { return; }
      if (box.textContent.trim()) {
        input.setAttribute("aria-invalid", "true");
      } else {
        input.removeAttribute("aria-invalid");
      }
    });
  }

  document.addEventListener("htmx:afterSettle", function () { markInvalid(document); });
  document.addEventListener("DOMContentLoaded", function () { markInvalid(document); });

  /* Buttons with data-confirm ask before submitting (deactivate a user, close a query). */
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    var button = target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();

/* After a refused save, move the focus to the error summary (or the conflict / import message), so that
   keyboard and screen-reader users land on what went wrong (GOV.UK error summary pattern). */
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var target = document.querySelector("#error-summary, #conflict, #import-result[role='alert']");
  if (target) {
    if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
    target.focus();
  }
});
