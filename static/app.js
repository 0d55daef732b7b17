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

  // A network failure or a server error without an HX-Trigger still tells
  // the user something.
  document.addEventListener("htmx:sendError", function () {
    toast("The server could not be reached. Check your connection and try again.", "error");
  });
})();
