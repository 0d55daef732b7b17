// extcron's page behaviour. htmx does the requests; this file adds the
// few things htmx does not: toasts from HX-Trigger, the browser's zone on
// forms, and confirmation dialogs. The CSP forbids inline script, so all
// of it lives here.
(function () {
  "use strict";

  function toast(message, kind) {
    var region = document.getElementById("toasts");
    if (!region || !message) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (kind || "info");
    el.setAttribute("data-kind", kind || "info");
    el.textContent = message;
    region.appendChild(el);
    setTimeout(function () { el.remove(); }, 6000);
  }
  window.extcronToast = toast;

  document.addEventListener("toast", function (e) {
    var d = e.detail || {};
    toast(d.message, d.kind);
  });

  // Flash toasts rendered with the page fade out like the others.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(function (el) {
      setTimeout(function () { el.remove(); }, 6000);
    });
    fillBrowserZone(document);
  });
  document.addEventListener("htmx:afterSwap", function (e) { fillBrowserZone(e.target); });

  // Inputs named browser_timezone receive the browser's IANA zone, the
  // third step of the default chain (user, tenant, browser, UTC).
  function fillBrowserZone(root) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (_) {}
    root.querySelectorAll("input[name=browser_timezone]").forEach(function (el) { el.value = zone; });
  }

  // ---- Extension and schedule pages ----

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (_) { return ""; }
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  // Confirmation: links marked data-confirm open the page's
  // #confirm-dialog, which posts to the link's href. Without JavaScript
  // the link leads to a confirmation page instead.
  var confirmOpener = null;
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[data-confirm]");
    var dialog = document.getElementById("confirm-dialog");
    if (!link || !dialog || typeof dialog.showModal !== "function") return;
    e.preventDefault();
    dialog.querySelector("form").setAttribute("action", link.getAttribute("href"));
    dialog.querySelector("#confirm-title").textContent = link.getAttribute("data-confirm-title") || "Are you sure?";
    dialog.querySelector("#confirm-message").textContent = link.getAttribute("data-confirm");
    dialog.querySelector("[data-testid=confirm-yes]").textContent = link.getAttribute("data-confirm-yes") || "Confirm";
    confirmOpener = link;
    dialog.showModal();
    var cancel = dialog.querySelector("[data-testid=confirm-no]");
    if (cancel) cancel.focus();
  });
  document.addEventListener("close", function (e) {
    if (e.target && e.target.id === "confirm-dialog" && confirmOpener && document.contains(confirmOpener)) {
      confirmOpener.focus();
    }
  }, true);

  // Version update: the Settings tab's review form loads the preview into
  // #update-dialog-body (htmx) and this opens the dialog. Its Cancel is a
  // link back to the Settings tab, which is what it does on the preview
  // page that stands in for the dialog without JavaScript.
  document.addEventListener("htmx:afterSwap", function (e) {
    if (!e.detail.target || e.detail.target.id !== "update-dialog-body") return;
    var dialog = document.getElementById("update-dialog");
    if (!dialog) return;
    if (typeof dialog.showModal !== "function") {
      dialog.setAttribute("open", "");
    } else if (!dialog.open) {
      dialog.showModal();
    }
    var first = dialog.querySelector("[autofocus]");
    if (first) first.focus();
  });
  document.addEventListener("click", function (e) {
    var closer = e.target.closest && e.target.closest("[data-dialog-close]");
    var dialog = closer && closer.closest("dialog");
    if (!dialog) return;
    e.preventDefault();
    dialog.close();
  });
  document.addEventListener("close", function (e) {
    if (!e.target || e.target.id !== "update-dialog") return;
    var review = document.querySelector("[data-testid=update-review]");
    if (review) review.focus();
  }, true);

  // Run now: every click carries a fresh idempotency key, so a double
  // submit queues one run. Capture phase runs before htmx reads the form.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-run-now]")) return;
    var input = form.querySelector("input[name=idempotency_key]");
    if (input) input.value = newKey();
  }, true);

  // The enabled switch: when the server refuses (or cannot be reached),
  // put the switch back and say why next to it.
  function revertToggle(elt, message) {
    if (!elt || !elt.matches || !elt.matches("input[data-toggle]")) return;
    elt.checked = !elt.checked;
    var err = elt.closest("form").querySelector(".toggle-error");
    if (err) {
      err.textContent = message || "The change was not saved.";
      err.hidden = false;
    }
  }
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    revertToggle(e.detail.elt, xhr && xhr.responseText ? xhr.responseText.slice(0, 300) : "");
  });
  document.addEventListener("htmx:sendError", function (e) {
    revertToggle(e.detail.elt, "The server could not be reached; nothing changed.");
  });

  // Payload JSON is checked before the form is sent; the server checks
  // it again.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-validate-json]")) return;
    form.querySelectorAll("textarea[data-json]").forEach(function (area) {
      var err = form.querySelector("[data-json-error]");
      var text = area.value.trim();
      var message = "";
      if (text !== "") {
        try {
          var v = JSON.parse(text);
          if (v === null || typeof v !== "object") {
            message = "Payload must be a JSON object or array (or empty); a single value such as a number or string is not accepted.";
          }
        } catch (x) {
          message = "Payload is not valid JSON (" + x.message + "). Enter a JSON object like {\"key\": \"value\"} or an array, or leave it empty.";
        }
      }
      if (err) {
        err.textContent = message;
        err.hidden = message === "";
      }
      area.setAttribute("aria-invalid", message ? "true" : "false");
      if (message) {
        e.preventDefault();
        e.stopImmediatePropagation();
        area.focus();
      }
    });
  }, true);

  // Browser-side details: the zone default, local hover times, copy.
  function enhance(root) {
    var zone = browserZone();
    root.querySelectorAll("input[data-browser-default]").forEach(function (el) {
      if (el.value === "" && zone) {
        el.value = zone;
        if (window.htmx) window.htmx.trigger(el, "change");
      }
    });
    root.querySelectorAll("time[data-local-title]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      try {
        el.title = "Your time (" + zone + "): " + d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: zone || undefined });
      } catch (_) {}
    });
    root.querySelectorAll("button[data-copy]").forEach(function (btn) {
      btn.hidden = !(navigator.clipboard && navigator.clipboard.writeText);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (e) { enhance(e.target); });
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("button[data-copy]");
    if (!btn) return;
    navigator.clipboard.writeText(btn.getAttribute("data-copy")).then(function () {
      toast("Copied to the clipboard.", "info");
    }, function () {
      toast("Could not copy; select the text instead.", "error");
    });
  });

  // A network failure or a server error without an HX-Trigger still tells
  // the user something.
  document.addEventListener("htmx:sendError", function () {
    toast("The server could not be reached. Check your connection and try again.", "error");
  });
})();
