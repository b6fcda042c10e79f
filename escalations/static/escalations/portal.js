/* Progressive enhancement only: the portal works without this file ("Next" shows the
   same suggestions). On the new-request page, published articles that may answer the
   request appear while the requester types (debounced fetch of /portal/suggestions/). */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var t;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  function suggest(form) {
    var box = document.getElementById("live-suggestions");
    var title = form.querySelector("[name=title]");
    var body = form.querySelector("[name=body]");
    var category = form.querySelector("[name=category]");
    if (!box || !title || !body) { return; }
    var lastQuery = "";
    var look = debounce(function () {
      var params = new URLSearchParams({title: title.value, body: body.value, category: category ? category.value : ""});
      var query = params.toString();
      if (query === lastQuery) { return; }
      lastQuery = query;
      if (!title.value.trim() && !body.value.trim()) { box.innerHTML = ""; box.hidden = true; return; }
      fetch(form.dataset.suggestUrl + "?" + query, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
        .then(function (r) { return r.text(); })
        .then(function (html) {
          if (query !== lastQuery) { return; }  // a later keystroke asked again
          box.innerHTML = html;
          box.hidden = !html.trim();
        })
        .catch(function () { /* "Next" still shows the suggestions */ });
    }, 400);
    [title, body, category].forEach(function (el) {
      if (el) { el.addEventListener("input", look); el.addEventListener("change", look); }
    });
  }

  var form = document.getElementById("new-request");
  if (form && form.dataset.suggestUrl) { suggest(form); }
})();
