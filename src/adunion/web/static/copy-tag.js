// The slot page's "Copy tag" button (a file, not an inline script: the pages' CSP runs no inline
// script).
(function () {
  "use strict";
  var button = document.getElementById("copy-tag");
  if (!button) {
    return;
  }
  button.addEventListener("click", async function () {
    var box = document.getElementById("embed-tag");
    var status = document.getElementById("copy-status");
    try {
      await navigator.clipboard.writeText(box.value);
    } catch (err) {
      box.select();
      document.execCommand("copy");
    }
    status.textContent = "Copied.";
  });
})();
