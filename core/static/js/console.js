/* The chair's console on weak Wi-Fi (core/templates/meetings/_console.html).
 *
 * - While a form's request is on its way, its button says "正在保存…" (the text comes from
 *   #console's data-saving, so it is translated) and cannot be pressed twice.
 * - When a request fails (the server errs, or the network drops it), a banner says "未保存，请重试"
 *   and nothing is swapped, so what was typed stays in the fields; the next success hides it.
 * - A live refresh of the whole console keeps what was being typed in its fields (see below).
 * - The item timer (#item-timer) ticks from the server's numbers: data-elapsed seconds at render
 *   time, data-running, data-limit. Without this script it shows the value at render time.
 * A static file because the Content-Security-Policy forbids inline script.
 */
(function () {
  "use strict";

  function consoleEl() { return document.getElementById("console"); }

  function submitterOf(evt) {
    var elt = evt.detail && evt.detail.elt;
    if (!elt) { return null; }
    var trigger = evt.detail.requestConfig && evt.detail.requestConfig.triggeringEvent;
    if (trigger && trigger.submitter) { return trigger.submitter; }
    if (elt.tagName === "BUTTON") { return elt; }
    return elt.querySelector ? elt.querySelector("button[type=submit], button:not([type])") : null;
  }

  function banner(show) {
    var el = document.getElementById("save-failed");
    if (el) { el.hidden = !show; }
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var root = consoleEl();
    var button = submitterOf(evt);
    if (!root || !button || !root.contains(button) || evt.detail.requestConfig.verb === "get") { return; }
    if (!button.hasAttribute("data-label")) { button.setAttribute("data-label", button.textContent); }
    button.textContent = root.getAttribute("data-saving") || "…";
    button.classList.add("saving");
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var button = submitterOf(evt);
    if (button && button.hasAttribute("data-label")) {  // still on the page: the answer was not swapped in
      button.textContent = button.getAttribute("data-label");
      button.removeAttribute("data-label");
      button.classList.remove("saving");
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
    if (evt.detail.successful) { banner(false); }
  });

  function failed() { banner(true); }
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:timeout", failed);
  // A live refresh (live.js GETs the page and swaps the whole #console) must not wipe what is being
  // typed. live.js waits while a field is in use, but a fetch already on its way when the typing
  // starts lands afterwards — e.g. the refresh that follows the chair's own action, since an item
  // action's answer swaps only #current-item. So typed values are carried over into the fresh
  // console, by form and field. Only for GETs: an action's own answer means to clear its form.
  var carried = null;  // {"<form action>|<field id or name>": value}
  function fieldKey(f) {
    var form = f.form ? f.form.getAttribute("action") || "" : "";
    return form + "|" + (f.id || f.name);
  }
  function typedFields(root) {
    return Array.prototype.filter.call(root.querySelectorAll("input, textarea"), function (f) {
      return !/^(submit|button|reset|hidden|checkbox|radio|file)$/.test(f.type) && (f.id || f.name);
    });
  }
  document.addEventListener("htmx:beforeSwap", function (evt) {
    carried = null;
    var root = consoleEl();
    if (!root || evt.detail.target !== root || evt.detail.requestConfig.verb !== "get") { return; }
    typedFields(root).forEach(function (f) {
      if (f.value !== f.defaultValue) { (carried = carried || {})[fieldKey(f)] = f.value; }
    });
  });

  document.addEventListener("htmx:afterSwap", function () {
    banner(false);
    var root = consoleEl();
    if (!carried || !root) { carried = null; return; }
    typedFields(root).forEach(function (f) {
      var key = fieldKey(f);
      if (Object.prototype.hasOwnProperty.call(carried, key) && f.value === f.defaultValue) { f.value = carried[key]; }
    });
    carried = null;
  });

  // The item timer: re-read the element each tick, since swaps replace it.
  var shown = null;  // {el, base, at}
  function tick() {
    var el = document.getElementById("item-timer");
    if (!el) { shown = null; return; }
    if (!shown || shown.el !== el) {
      shown = {el: el, base: parseInt(el.getAttribute("data-elapsed"), 10) || 0, at: Date.now()};
    }
    if (el.getAttribute("data-running") !== "1") { return; }
    var seconds = shown.base + Math.floor((Date.now() - shown.at) / 1000);
    var value = el.querySelector(".timer-value");
    var m = Math.floor(seconds / 60), s = seconds % 60;
    if (value) { value.textContent = m + ":" + (s < 10 ? "0" : "") + s; }
    el.classList.toggle("over", seconds > (parseInt(el.getAttribute("data-limit"), 10) || Infinity));
  }
  setInterval(tick, 1000);
})();
