// Flow builder: the few things htmx cannot do. Inserting mapped data at the caret (data picker),
// list/mapped toggles on dropdowns, keyboard use of the catalogue, drag-and-drop reordering, and
// shortcuts. Everything that talks to the server is htmx.
(function () {
  "use strict";
  var lastTarget = null;

  function cardOf(el) { return el && el.closest(".step-card"); }
  function fire(el, name) { el.dispatchEvent(new Event(name, { bubbles: true })); }

  // ---- Data picker -------------------------------------------------------------------------
  function openPicker(btn) {
    var card = cardOf(btn);
    var picker = card && card.querySelector(".picker");
    var input = document.getElementById(btn.getAttribute("data-insert-for"));
    if (!picker || !input) return;
    lastTarget = input;
    (btn.closest(".cond-row") || btn.closest(".field") || btn.parentNode).after(picker);
    picker.hidden = false;
    var search = picker.querySelector(".picker-search");
    search.value = ""; filterPicker(picker, "");
    search.focus();
  }
  function closePicker(picker, refocus) {
    if (!picker || picker.hidden) return;
    picker.hidden = true;
    if (refocus && lastTarget) lastTarget.focus();
  }
  function filterPicker(picker, q) {
    q = q.toLowerCase().trim();
    picker.querySelectorAll(".pick").forEach(function (b) {
      b.hidden = q && b.getAttribute("data-search").indexOf(q) === -1;
    });
  }
  function insertAtCaret(input, text) {
    var start = input.selectionStart == null ? input.value.length : input.selectionStart;
    var end = input.selectionEnd == null ? start : input.selectionEnd;
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    input.focus();
    input.setSelectionRange(start + text.length, start + text.length);
    fire(input, "input"); fire(input, "change");
    input.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
  }

  document.addEventListener("click", function (e) {
    var t = e.target;
    var insert = t.closest(".insert-btn");
    if (insert) { e.preventDefault(); openPicker(insert); return; }
    var pick = t.closest(".pick");
    if (pick) {
      e.preventDefault();
      var picker = pick.closest(".picker");
      if (lastTarget && document.body.contains(lastTarget)) insertAtCaret(lastTarget, pick.getAttribute("data-token"));
      closePicker(picker, false);
      return;
    }
    if (t.closest("[data-picker-close]")) { closePicker(t.closest(".picker"), true); return; }
    var toggle = t.closest("[data-choice-toggle]");
    if (toggle) { e.preventDefault(); switchChoice(toggle.closest(".choice")); return; }
    if (t.closest("[data-panel-close]")) { restorePanel(); return; }
    document.querySelectorAll(".picker:not([hidden])").forEach(function (p) {
      if (!p.contains(t)) closePicker(p, false);
    });
  });
  document.addEventListener("input", function (e) {
    if (e.target.classList.contains("picker-search")) filterPicker(e.target.closest(".picker"), e.target.value);
    var form = e.target.closest(".step-form");
    if (form && !e.target.classList.contains("picker-search")) markDirty(form, true);
  });

  // ---- Dropdown or mapped value -------------------------------------------------------------
  function applyChoice(choice) {
    var text = choice.getAttribute("data-mode") === "text";
    choice.querySelectorAll(".choice-list select").forEach(function (s) { s.disabled = text; });
    choice.querySelectorAll(".choice-text input").forEach(function (i) { i.disabled = !text; });
  }
  function switchChoice(choice) {
    choice.setAttribute("data-mode", choice.getAttribute("data-mode") === "text" ? "list" : "text");
    applyChoice(choice);
    var focus = choice.querySelector(choice.getAttribute("data-mode") === "text" ? ".choice-text input" : ".choice-list select");
    if (focus) focus.focus();
    markDirty(choice.closest(".step-form"), true);
  }
  function syncCondition(select) {
    var opt = select.options[select.selectedIndex];
    select.closest(".cond-row").classList.toggle("unary", !!(opt && opt.hasAttribute("data-unary")));
  }
  document.addEventListener("change", function (e) {
    if (e.target.matches("select[data-cond-op]")) syncCondition(e.target);
    if (e.target.matches("select[data-loader]")) {
      var form = e.target.closest("form");
      // Dependent lists (a pipeline's stages) reload with the new value.
      if (form) form.querySelectorAll(".options-slot").forEach(function (slot) {
        if (!slot.contains(e.target)) htmx.trigger(slot, "options-changed");
      });
    }
  });

  // ---- Unsaved changes -----------------------------------------------------------------------
  function markDirty(form, dirty) {
    if (!form) return;
    form.dataset.dirty = dirty ? "1" : "";
    var note = form.querySelector(".dirty-note");
    if (note) note.hidden = !dirty;
    var saved = form.querySelector(".save-state");
    if (saved && dirty) saved.textContent = "";
  }
  window.addEventListener("beforeunload", function (e) {
    if (document.querySelector(".step-form[data-dirty='1']")) { e.preventDefault(); e.returnValue = ""; }
  });
  document.addEventListener("htmx:confirm", function (e) {
    // Closing or changing a card with unsaved edits asks first.
    var el = e.detail.elt;
    if (!el.classList || !el.classList.contains("card-toggle")) return;
    var form = cardOf(el).querySelector(".step-form[data-dirty='1']");
    if (form && !window.confirm("Discard your unsaved changes to this step?")) e.preventDefault();
  });

  // ---- After each swap -----------------------------------------------------------------------
  document.addEventListener("htmx:afterSettle", function (e) {
    var root = e.detail.elt && e.detail.elt.closest ? e.detail.elt : document;
    (root.closest(".choice") ? [root.closest(".choice")] : []).concat(
      Array.prototype.slice.call((root.querySelectorAll ? root : document).querySelectorAll(".choice"))
    ).forEach(applyChoice);
    document.querySelectorAll("select[data-cond-op]").forEach(syncCondition);
    var search = root.querySelector && root.querySelector(".cat-search input[autofocus]");
    if (search && document.activeElement === document.body) search.focus();
  });

  // ---- Catalogue keyboard --------------------------------------------------------------------
  function choices(cat) { return Array.prototype.slice.call(cat.querySelectorAll("[data-choice]")); }
  document.addEventListener("keydown", function (e) {
    var cat = e.target.closest && e.target.closest("[data-catalogue]");
    if (cat) {
      var list = choices(cat), i = list.indexOf(e.target);
      if (e.key === "Enter" && e.target.type === "search") {
        e.preventDefault();
        if (list[0]) list[0].click();
      } else if (e.key === "ArrowDown") {
        e.preventDefault(); (list[i + 1] || list[0] || e.target).focus();
      } else if (e.key === "ArrowUp") {
        e.preventDefault(); (i > 0 ? list[i - 1] : cat.querySelector(".cat-search input")).focus();
      } else if (e.key === "Escape") {
        var close = cat.querySelector("[data-close]");
        if (close) close.click();
      }
      return;
    }
    if (e.key === "Escape") {
      var open = document.querySelector(".picker:not([hidden])");
      if (open) { e.preventDefault(); closePicker(open, true); }
      return;
    }
    var picker = e.target.closest && e.target.closest(".picker");
    if (picker && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      var picks = Array.prototype.slice.call(picker.querySelectorAll(".pick:not([hidden])"));
      var j = picks.indexOf(e.target);
      e.preventDefault();
      (e.key === "ArrowDown" ? picks[j + 1] || picks[0] : picks[j - 1] || picker.querySelector(".picker-search")).focus();
      return;
    }
    if (picker && e.key === "Enter" && e.target.classList.contains("picker-search")) {
      e.preventDefault();
      var first = picker.querySelector(".pick:not([hidden])");
      if (first) first.click();
      return;
    }
    // Ctrl/Cmd+S saves the open step, Ctrl/Cmd+Enter tests it.
    if ((e.ctrlKey || e.metaKey) && (e.key === "s" || e.key === "Enter")) {
      var card = cardOf(document.activeElement) || document.querySelector(".step-card.open");
      var form = card && card.querySelector(".step-form");
      if (!form) return;
      e.preventDefault();
      if (e.key === "s") form.requestSubmit();
      else { var test = card.querySelector("[data-test-button]"); if (test) test.click(); }
    }
  });

  // ---- Drag and drop (by the card header) ----------------------------------------------------
  var dragged = null;
  document.addEventListener("mousedown", function (e) {
    var head = e.target.closest && e.target.closest(".step-node > .step-card .card-head");
    var node = head && head.closest(".step-node");
    if (node && node.hasAttribute("data-move-url") && !e.target.closest(".card-tools")) node.draggable = true;
  });
  document.addEventListener("dragstart", function (e) {
    var node = e.target.closest && e.target.closest(".step-node[draggable='true']");
    if (!node) return;
    dragged = node; node.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", node.dataset.sid);
  });
  function siblingTarget(e) {
    var node = e.target.closest && e.target.closest(".step-node");
    return dragged && node && node !== dragged && node.parentNode === dragged.parentNode ? node : null;
  }
  document.addEventListener("dragover", function (e) {
    var node = siblingTarget(e);
    if (!node) return;
    e.preventDefault();
    document.querySelectorAll(".drop-before").forEach(function (n) { n.classList.remove("drop-before"); });
    node.classList.add("drop-before");
  });
  document.addEventListener("drop", function (e) {
    var node = siblingTarget(e);
    if (!node) return;
    e.preventDefault();
    var from = Number(dragged.dataset.index), to = Number(node.dataset.index);
    htmx.ajax("POST", dragged.dataset.moveUrl, { source: dragged, values: { to: String(to) }, target: "#steps", swap: "outerHTML" });
    if (from === to) return;
  });
  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); dragged.draggable = false; }
    document.querySelectorAll(".drop-before").forEach(function (n) { n.classList.remove("drop-before"); });
    dragged = null;
  });

  // ---- Side panel ----------------------------------------------------------------------------
  var panelDefault = null;
  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.getElementById("side-panel");
    if (panel) panelDefault = panel.innerHTML;
    document.querySelectorAll(".choice").forEach(applyChoice);
    document.querySelectorAll("select[data-cond-op]").forEach(syncCondition);
  });
  function restorePanel() {
    var panel = document.getElementById("side-panel");
    if (panel && panelDefault !== null) panel.innerHTML = panelDefault;
  }
})();
