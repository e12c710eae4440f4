// Flowline: small progressive enhancements. Pages work without JavaScript.
(function () {
  function toast(message) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = message;
    el.hidden = false;
    clearTimeout(el._t);
    el._t = setTimeout(function () { el.hidden = true; }, 6000);
  }
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr, status = xhr.status;
    // A short plain-text answer is a message written for the user ("Publish the flow first."): show it.
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = type.indexOf("text/plain") === 0 ? (xhr.responseText || "").trim() : "";
    if (text && text.length < 300) toast(text);
    else if (status === 403) toast("You don't have permission to do that here, or your session changed. Reload the page and try again.");
    else toast("Something went wrong (" + status + "). Your change was not saved; please try again.");
  });
  // Every htmx request shows the loading bar (not only those that name it) and marks the element
  // that asked as busy, so a second click is visibly pending. Background refreshes ("every 5s") stay quiet.
  var pending = 0;
  function bar(on) {
    var el = document.getElementById("loading-bar");
    if (el) el.classList.toggle("is-loading", on);
  }
  function quiet(elt) {
    return /\bevery\b/.test((elt && elt.getAttribute && elt.getAttribute("hx-trigger")) || "");
  }
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail.elt;
    if (quiet(elt)) return;
    elt._flBusy = true;
    pending += 1; bar(true);
    if (elt.setAttribute) elt.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var elt = e.detail.elt;
    if (!elt._flBusy) return;
    elt._flBusy = false;
    pending = Math.max(0, pending - 1); if (!pending) bar(false);
    if (elt.removeAttribute) elt.removeAttribute("aria-busy");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Flowline could not be reached. Check your connection and try again.");
  });
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-copy]");
    if (!btn) return;
    var input = document.querySelector(btn.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    (navigator.clipboard ? navigator.clipboard.writeText(input.value) : Promise.reject()).then(
      function () { toast("Copied to the clipboard."); },
      function () { document.execCommand("copy"); toast("Copied."); }
    );
  });
  // A catalogue search typed while its card was still arriving (the input had no htmx handler yet)
  // would be lost: once htmx has processed the card, search for whatever is already in the box.
  document.addEventListener("htmx:load", function (e) {
    var root = e.detail.elt;
    if (!root.querySelectorAll) return;
    root.querySelectorAll(".cat-search input[name=q]").forEach(function (input) {
      if (input.value.trim()) htmx.trigger(input, "search");
    });
  });
  window.flowlineToast = toast;
})();
