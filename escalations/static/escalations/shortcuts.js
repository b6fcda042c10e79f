/* Keyboard shortcuts for the queues and the case page (progressive enhancement: every
   action they reach is a link or a form that works without this file).
     j / k      next / previous case in a queue (the row is highlighted, its link focused)
     o, Enter   open the selected case
     t          take: the selected queue row, or the case page's own Take form
     n          write an internal note (case page)
     ?          this list; Esc closes it
   Keys are ignored while typing in a field, with Ctrl/Alt/Meta, and while the list is open
   (except Esc). Take posts the same form as the Take button (catalogue action "take"). */
(function () {
  "use strict";

  var KEYS = [
    ["j", "Next case in the queue"],
    ["k", "Previous case in the queue"],
    ["o or Enter", "Open the selected case"],
    ["t", "Take the selected case (on a case page: take this case)"],
    ["n", "Write an internal note (case page)"],
    ["?", "Show this list of keys"],
    ["Esc", "Close this list"]
  ];
  var selected = -1;
  var overlay = null;
  var returnFocus = null;
  var status = null;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr[data-open]"));
  }

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function say(text) {
    if (!status) {
      status = document.createElement("p");
      status.id = "shortcut-status";
      status.className = "shortcut-status";
      status.setAttribute("role", "status");
      document.body.appendChild(status);
    }
    status.textContent = text;
  }

  function select(index) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row) { row.classList.remove("is-selected"); row.removeAttribute("aria-current"); });
    var row = all[index];
    row.classList.add("is-selected");
    row.setAttribute("aria-current", "true");
    var link = row.querySelector("a[href]");
    if (link) { link.focus(); }
    row.scrollIntoView({block: "nearest"});
    selected = index;
  }

  function current() {
    var all = rows();
    if (selected >= 0 && selected < all.length) { return all[selected]; }
    var focused = document.activeElement && document.activeElement.closest ? document.activeElement.closest("tr[data-open]") : null;
    return focused;
  }

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function postTake(row) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = row.dataset.take;
    [["csrfmiddlewaretoken", csrfToken()], ["take-version", row.dataset.version]].forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = pair[0];
      input.value = pair[1];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  function take() {
    var own = document.querySelector("form#action-take");
    if (own) {
      if (own.requestSubmit) { own.requestSubmit(); } else { own.submit(); }
      return;
    }
    var row = current();
    if (row && row.dataset.take) { postTake(row); return; }
    say(rows().length ? "Select a case with j or k first." : "Take is not offered here.");
  }

  function note() {
    var panel = document.getElementById("action-note");
    var box = panel ? panel.querySelector("textarea") : null;
    if (!box) { say("No internal note can be written here."); return; }
    if (panel.tagName.toLowerCase() === "details") { panel.open = true; }
    box.focus();
  }

  function open() {
    var row = current();
    if (row) { window.location.assign(row.dataset.open); }
  }

  function showHelp() {
    if (overlay) { return; }
    returnFocus = document.activeElement;
    overlay = document.createElement("div");
    overlay.className = "shortcuts-overlay";
    var box = document.createElement("div");
    box.className = "shortcuts-dialog";
    box.id = "shortcuts-help";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-labelledby", "shortcuts-title");
    box.tabIndex = -1;
    var title = document.createElement("h2");
    title.id = "shortcuts-title";
    title.textContent = "Keyboard shortcuts";
    box.appendChild(title);
    var list = document.createElement("dl");
    list.className = "shortcuts-list";
    KEYS.forEach(function (pair) {
      var dt = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = pair[0];
      dt.appendChild(kbd);
      var dd = document.createElement("dd");
      dd.textContent = pair[1];
      list.appendChild(dt);
      list.appendChild(dd);
    });
    box.appendChild(list);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn";
    close.textContent = "Close";
    close.addEventListener("click", hideHelp);
    box.appendChild(close);
    overlay.appendChild(box);
    overlay.addEventListener("click", function (event) { if (event.target === overlay) { hideHelp(); } });
    box.addEventListener("keydown", function (event) {  // keep Tab inside the dialog
      if (event.key === "Tab") { event.preventDefault(); close.focus(); }
    });
    document.body.appendChild(overlay);
    close.focus();
  }

  function hideHelp() {
    if (!overlay) { return; }
    overlay.remove();
    overlay = null;
    if (returnFocus && returnFocus.focus) { returnFocus.focus(); }
  }

  function hint() {
    var main = document.getElementById("main");
    if (!main || !(rows().length || document.getElementById("action-note") || document.querySelector("form#action-take"))) { return; }
    var p = document.createElement("p");
    p.className = "shortcuts-hint";
    p.id = "shortcuts-hint";
    p.appendChild(document.createTextNode("Keyboard: press "));
    var kbd = document.createElement("kbd");
    kbd.textContent = "?";
    p.appendChild(kbd);
    p.appendChild(document.createTextNode(" for shortcuts."));
    main.appendChild(p);
  }

  document.addEventListener("DOMContentLoaded", hint);

  document.addEventListener("keydown", function (event) {
    if (overlay) {
      if (event.key === "Escape") { event.preventDefault(); hideHelp(); }
      return;
    }
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) { return; }
    var key = event.key;
    if (key === "Enter") {
      // a focused link or button does its own thing; Enter on a selected row opens it
      var row = event.target.closest ? event.target.closest("tr[data-open]") : null;
      if (row && event.target === row) { event.preventDefault(); window.location.assign(row.dataset.open); }
      return;
    }
    var actions = {
      j: function () { select(selected + 1); },
      k: function () { select(selected < 0 ? 0 : selected - 1); },
      o: open,
      t: take,
      n: note,
      "?": showHelp
    };
    if (Object.prototype.hasOwnProperty.call(actions, key)) {
      event.preventDefault();
      actions[key]();
    }
  });
})();
