/* Progressive enhancement only: every page works without this file.
   - intake: live priority from the impact x urgency matrix; similar open cases and the text
     model's suggestion while typing
   - case page: panels marked data-src (similar resolved cases) load after the page
   - any page with a refused form: move focus to the explanation */
(function () {
  "use strict";

  // Times are shown in the viewer's zone: tell the server which one (read by ViewerTimezoneMiddleware).
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("desk_tz=" + zone) === -1) {
      document.cookie = "desk_tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* an old browser: the server's zone stays */ }

  function debounce(fn, ms) {
    var t;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  function intake(form) {
    var matrixEl = document.getElementById("priority-matrix");
    var preview = document.getElementById("priority-preview");
    var similar = document.getElementById("similar");
    var impact = form.querySelector("[name=impact]");
    var urgency = form.querySelector("[name=urgency]");
    var title = form.querySelector("[name=title]");
    var description = form.querySelector("[name=description]");
    var category = form.querySelector("[name=category]");
    var matrix = matrixEl ? JSON.parse(matrixEl.textContent) : {};

    function showPriority() {
      var label = matrix[impact.value + "-" + urgency.value];
      if (label && preview) {
        preview.querySelector("strong").textContent = label;
      }
    }
    var lastQuery = "";
    var lookSimilar = debounce(function () {
      var params = new URLSearchParams({title: title.value, description: description.value, category: category.value});
      var query = params.toString();
      if (query === lastQuery || (!title.value.trim() && !description.value.trim())) { return; }
      lastQuery = query;
      fetch(form.dataset.similarUrl + "?" + query, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { if (query === lastQuery) { similar.innerHTML = html; } })
        .catch(function () { /* the "Check for similar cases" button still works */ });
    }, 400);

    // The text model's suggestion: shown while typing; the agent's choice is recorded against it.
    var suggestion = document.getElementById("text-suggestion");
    var shown = form.querySelector("[name=suggestion_shown]");
    var lastText = "";
    var lookSuggestion = debounce(function () {
      if (!suggestion || !form.dataset.suggestUrl) { return; }
      var params = new URLSearchParams({title: title.value, description: description.value});
      var query = params.toString();
      if (query === lastText || (!title.value.trim() && !description.value.trim())) { return; }
      lastText = query;
      fetch(form.dataset.suggestUrl + "?" + query, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (query !== lastText) { return; }
          suggestion.innerHTML = html;
          if (shown && suggestion.querySelector("[data-suggestion]")) { shown.value = "1"; }
        })
        .catch(function () { /* the "Check for similar cases" button shows it too */ });
    }, 400);
    if (suggestion) {
      suggestion.addEventListener("click", function (event) {
        var use = event.target.closest("[data-use-suggestion]");
        if (!use) { return; }
        if (use.dataset.category && category) { category.value = use.dataset.category; }
        if (use.dataset.impact && impact) { impact.value = use.dataset.impact; }
        if (use.dataset.urgency && urgency) { urgency.value = use.dataset.urgency; }
        showPriority();
        lookSimilar();
      });
    }
    [title, description].forEach(function (el) {
      if (el) { el.addEventListener("input", lookSuggestion); el.addEventListener("change", lookSuggestion); }
    });

    [impact, urgency].forEach(function (el) { if (el) { el.addEventListener("change", showPriority); } });
    [title, description, category].forEach(function (el) {
      if (el) { el.addEventListener("input", lookSimilar); el.addEventListener("change", lookSimilar); }
    });
    if (impact && urgency) { showPriority(); }
  }

  function focusFailure() {
    var failure = document.getElementById("failure");
    if (failure) { failure.focus(); return; }
    var invalid = document.querySelector("[aria-invalid=true]");
    if (invalid) { invalid.focus(); }
  }

  function deferredPanels() {
    document.querySelectorAll("[data-src]").forEach(function (panel) {
      fetch(panel.dataset.src, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var heading = panel.querySelector("h2");
          panel.innerHTML = "";
          if (heading) { panel.appendChild(heading); }
          panel.insertAdjacentHTML("beforeend", html);
        })
        .catch(function () { /* the link to the full page stays */ });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.intake");
    if (form) { intake(form); }
    deferredPanels();
    focusFailure();
  });
})();
