/* A live report page (data-refresh on #report-tables) fetches itself every N seconds and
   swaps in the new tables: no reload, no scroll jump, the filters stay as they are. A failed
   fetch leaves the last figures and says so. */
(function () {
  "use strict";
  var box = document.getElementById("report-tables");
  if (!box || !window.fetch || !window.DOMParser) { return; }
  var every = parseInt(box.getAttribute("data-refresh"), 10) * 1000;
  if (!every) { return; }
  function refresh() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("report-tables");
        if (fresh) { box.innerHTML = fresh.innerHTML; box.setAttribute("data-refreshed", String(Date.now())); }
      })
      .catch(function () {
        var stamp = box.querySelector(".live-stamp");
        if (stamp) { stamp.textContent = "Could not refresh; showing the last figures."; }
      });
  }
  window.setInterval(refresh, every);
})();
