// Light progressive enhancement of the server-rendered console pages: every page works as
// plain HTML forms and links; this adds CSRF for htmx requests, a loading state, confirmation
// before destructive actions, print and copy buttons, and shows only the chosen payment method.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');

  // The operator's time zone, so the server shows dates in it from the next page on.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("console_tz=" + zone) === -1) {
      document.cookie = "console_tz=" + zone + "; path=/console; SameSite=Strict; max-age=31536000";
    }
  } catch (e) { /* an old browser: dates stay in UTC */ }

  document.addEventListener("htmx:configRequest", function (event) {
    if (csrf) { event.detail.headers["X-CSRF-Token"] = csrf.content; }
  });

  // Confirmation first (capture phase: before htmx or the browser submits).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    busy(form, true);
  }, true);

  function busy(form, on) {
    document.body.classList.toggle("busy", on);
    form.querySelectorAll('button[type="submit"], button:not([type])').forEach(function (button) {
      if (on) { button.setAttribute("aria-busy", "true"); } else { button.removeAttribute("aria-busy"); }
    });
  }
  document.addEventListener("htmx:beforeRequest", function () { document.body.classList.add("busy"); });
  document.addEventListener("htmx:afterRequest", function (event) {
    document.body.classList.remove("busy");
    var form = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("form") : null;
    if (form) { busy(form, false); }
  });
  window.addEventListener("pageshow", function () {
    document.body.classList.remove("busy");
    document.querySelectorAll('[aria-busy="true"]').forEach(function (el) { el.removeAttribute("aria-busy"); });
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-print],[data-copy-table],[data-fill]") : null;
    if (!target) { return; }
    if (target.hasAttribute("data-fill")) {  // "Pick": put a found value into its input
      var input = document.querySelector(target.getAttribute("data-fill"));
      if (input) { input.value = target.getAttribute("data-value"); input.focus(); }
      return;
    }
    if (target.hasAttribute("data-print")) { window.print(); return; }
    copyTable(target);
  });

  function copyTable(button) {
    var table = document.querySelector(button.getAttribute("data-copy-table"));
    var status = button.parentElement.querySelector(".copy-status");
    if (!table) { return; }
    var rows = Array.prototype.map.call(table.querySelectorAll("tr"), function (row) {
      return Array.prototype.filter.call(row.children, function (cell) {
        return !cell.classList.contains("no-copy");
      }).map(function (cell) { return cell.innerText.trim().replace(/\s+/g, " "); }).join("\t");
    });
    var text = rows.join("\n");
    var done = function () { if (status) { status.textContent = "Copied " + (rows.length - 1) + " rows"; } };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () {
        if (status) { status.textContent = "The browser refused the clipboard"; }
      });
    }
  }

  // Only the chosen option's fields: <select data-show-choice="name"> and <fieldset data-choice-of="name" data-choice="value">.
  function showChoices(root) {
    root.querySelectorAll("[data-show-choice]").forEach(function (control) {
      var name = control.getAttribute("data-show-choice");
      var value = control.type === "checkbox" ? (control.checked ? "on" : "") : control.value;
      document.querySelectorAll('[data-choice-of="' + name + '"]').forEach(function (fieldset) {
        var shown = fieldset.getAttribute("data-choice") === value;
        fieldset.hidden = !shown;
        fieldset.disabled = !shown;
      });
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-show-choice")) { showChoices(document); }
  });
  document.addEventListener("DOMContentLoaded", function () { showChoices(document); });
  document.addEventListener("htmx:afterSettle", function () { showChoices(document); });
})();
