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

  /* A form already posted is not posted again from the same page (a GET form, a filter or a download, is
     left alone): a second press of Save before the answer
     (a double-click) would post it twice (D-19.1264). A form another script sends itself (htmx: its
     submit is cancelled before this runs) is left alone; a page restored by Back may send it again. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post" || event.defaultPrevented) { return; }
    if (form.dataset.sent === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) { delete form.dataset.sent; });
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
