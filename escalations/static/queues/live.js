/* Live queue (progressive enhancement; the page works without it). A queue table marked
   data-live polls its URL every data-every seconds: the answer carries the page's rows as
   they are now (rendered by the same template and selectors as the page) and how many
   cases joined the queue since the page was opened. The rows are swapped in place, rows
   not on the page when it opened are marked new, and checked boxes stay checked with the
   version they were checked at (a bulk action then refuses a case that changed). A failed
   poll leaves the rows as they are and says so. */
(function () {
  "use strict";
  var table = document.querySelector("table.cases[data-live]");
  if (!table || !window.fetch) { return; }
  var url = table.getAttribute("data-live");
  var every = parseInt(table.getAttribute("data-every"), 10) * 1000;
  var body = table.querySelector("tbody");
  var news = document.getElementById("queue-news");
  var newsText = document.getElementById("queue-news-text");
  if (!every || !body || !news || !newsText) { return; }
  var known = {};
  body.querySelectorAll("tr[data-case]").forEach(function (tr) { known[tr.getAttribute("data-case")] = true; });

  function say(text) { newsText.textContent = text; news.hidden = false; }

  function apply(data) {
    var checked = {};
    body.querySelectorAll("input[name=case]:checked").forEach(function (box) {
      checked[box.getAttribute("data-case")] = box.value;
    });
    body.innerHTML = data.rows;
    body.querySelectorAll("tr[data-case]").forEach(function (tr) {
      var pk = tr.getAttribute("data-case");
      if (!known[pk]) { tr.classList.add("row--new"); }
      var box = tr.querySelector("input[name=case]");
      if (box && Object.prototype.hasOwnProperty.call(checked, pk)) { box.checked = true; box.value = checked[pk]; }
    });
    if (data["new"] > 0) {
      var n = data["new"] + (data.capped ? "+" : "");
      say(n + (data["new"] === 1 && !data.capped ? " new case" : " new cases") + " since you opened this page");
      news.classList.remove("queue-news--stale");
    } else if (!news.classList.contains("queue-news--stale")) {
      news.hidden = true;
    }
    table.setAttribute("data-refreshed", String(Date.now()));
    document.dispatchEvent(new CustomEvent("queue:refreshed"));
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(apply)
      .catch(function () {
        news.classList.add("queue-news--stale");
        say("Could not refresh the queue; the rows shown may be out of date");
      });
  }
  window.setInterval(poll, every);
})();
