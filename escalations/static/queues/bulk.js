/* Bulk bar (progressive enhancement; the checkboxes and buttons work without it): counts
   the checked rows, "select all" on the page, and keeps the buttons off while nothing is
   checked. Recounts after the live update swaps the rows (event queue:refreshed). */
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) { return; }
  var count = document.getElementById("bulk-count");
  var all = document.getElementById("pick-all");
  var buttons = form.querySelectorAll("button[name=action]");

  function boxes() { return document.querySelectorAll("input[name=case][form=bulk-form]"); }

  function update() {
    var n = 0;
    var total = 0;
    boxes().forEach(function (b) { total += 1; if (b.checked) { n += 1; } });
    count.textContent = n === 0 ? "No case selected." : (n === 1 ? "1 case selected." : n + " cases selected.");
    buttons.forEach(function (b) { b.disabled = n === 0; });
    if (all) { all.checked = total > 0 && n === total; all.indeterminate = n > 0 && n < total; }
  }

  document.addEventListener("change", function (e) {
    if (e.target === all) { boxes().forEach(function (b) { b.checked = all.checked; }); }
    if (e.target === all || (e.target.name === "case" && e.target.getAttribute("form") === "bulk-form")) { update(); }
  });
  document.addEventListener("queue:refreshed", update);
  update();
})();
