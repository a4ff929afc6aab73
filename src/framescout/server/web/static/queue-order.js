// The review queue's order: choosing one opens the first frame waiting for review in that order.
"use strict";
(() => {
  const select = document.getElementById("queue-order");
  if (select) select.addEventListener("change", () => select.form.submit());
})();
