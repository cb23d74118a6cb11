// The card form, made easier where JavaScript runs; without it the server still validates everything.
// Groups the card number as typed (4242 4242 4242 4242), writes the slash of MM/YY, and disables the
// submit button while i'mport answers, so a second press cannot send the card twice.
(function () {
  "use strict";
  var form = document.querySelector("form.card-form");
  if (!form) return;

  function digitsOf(value) { return value.replace(/\D/g, ""); }

  var number = form.querySelector("input[name=card_number]");
  if (number) {
    number.addEventListener("input", function () {
      var digits = digitsOf(number.value).slice(0, 16);
      var grouped = digits.replace(/(\d{4})(?=\d)/g, "$1 ");
      if (grouped !== number.value) number.value = grouped;
    });
  }

  var expiry = form.querySelector("input[name=expiry]");
  if (expiry) {
    expiry.addEventListener("input", function (event) {
      var value = expiry.value;
      // Someone typing i'mport's YYYY-MM keeps it; only plain digits become MM/YY.
      if (/^\d{4}-/.test(value)) return;
      var digits = digitsOf(value).slice(0, 4);
      var deleting = event.inputType && event.inputType.indexOf("delete") === 0;
      var shaped = digits.length > 2 || (digits.length === 2 && !deleting)
        ? digits.slice(0, 2) + "/" + digits.slice(2) : digits;
      if (shaped !== value) expiry.value = shaped;
    });
  }

  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  var busy = false;
  form.addEventListener("submit", function (event) {
    if (busy) { event.preventDefault(); return; }
    busy = true;
    var button = form.querySelector("button[type=submit]");
    form.classList.add("is-busy");
    form.setAttribute("aria-busy", "true");
    if (button) {
      button.textContent = form.dataset.busyText;
      // Disabled after this event, so the browser still sends the form it is submitting.
      window.setTimeout(function () { button.disabled = true; }, 0);
    }
    var note = form.querySelector(".busy-note");
    if (note) note.textContent = form.dataset.busyText;
  });
})();
