/* Live updates: re-fetch a part of the page when the server says it changed.
 *
 * An element with an id and data-live follows that Server-Sent Events stream (core/live):
 *
 *   <div id="console" data-live="/live/meetings/12" data-live-get="/meetings/12"
 *        data-live-on="state" data-live-since="1795997806643">…</div>
 *
 * On each event named in data-live-on (space-separated; default "state") and on "refresh" (sent
 * after a reconnect that missed something), it GETs data-live-get (default: this page) with htmx
 * and replaces itself with the element of the same id in the answer, so a whole page or just the
 * fragment will do. data-live-since, the version the page was rendered at, lets the server tell a
 * first connection that it is already behind. The browser reconnects by itself (Last-Event-ID).
 *
 * At most one fetch per element is in flight; events meanwhile cause one more fetch after it. Two
 * fetches start at least data-live-gap milliseconds apart (default 0): an event sooner than that
 * waits, with every other event until the gap is over, for one fetch then — so a page that follows a
 * stream of changes (the projector and the chair's poll page while a poll is open: one event per
 * round of votes) re-fetches about once per gap however fast the votes come, and ends current.
 * While someone is typing in a field inside the element, or has changed one and not sent it, the
 * fetch waits (it would wipe their input) and is tried again when they leave a field; the element
 * carries data-live-pending meanwhile, so a style can show that an update is waiting. Their own
 * submit swaps in a fresh element anyway, which already shows the change.
 * Without this script (or without EventSource) the page simply does not update itself; a reload
 * shows the current state. A static file because the Content-Security-Policy forbids inline script.
 */
(function () {
  "use strict";

  var streams = {}; // stream URL → {source: EventSource, names: {event name: true}}, one per URL
  var fetches = {}; // element id → {busy, again, waitingOn}
  var posting = 0;  // the page's own actions (non-GET htmx requests) under way
  var heldBack = {}; // element id → the newest event version that arrived while an action was under way

  function eventNames(el) {
    return ["refresh"].concat((el.getAttribute("data-live-on") || "state").split(/\s+/)).filter(Boolean);
  }

  // Someone is at work in the element: focused in a field, or has changed one without sending it.
  // Swapping the element now would wipe what they typed or chose.
  function busyHands(el) {
    var active = document.activeElement;
    if (active && el.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) &&
        !/^(submit|button|reset|hidden)$/.test(active.type)) {
      return true;
    }
    return Array.prototype.some.call(el.querySelectorAll("input, textarea, select"), function (f) {
      if (f.type === "checkbox" || f.type === "radio") { return f.checked !== f.defaultChecked; }
      if (f.type === "file") { return f.files.length > 0; }
      if (f.tagName === "SELECT") {
        // With no option marked selected the browser shows the first one: that is the default too.
        var marked = Array.prototype.some.call(f.options, function (o) { return o.defaultSelected; });
        if (!marked) { return !f.multiple && f.selectedIndex > 0; }
        return Array.prototype.some.call(f.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return !/^(submit|button|reset|hidden)$/.test(f.type) && f.value !== f.defaultValue;
    });
  }

  function refresh(id) {
    var el = document.getElementById(id);
    if (!el || !window.htmx) { return; }
    var state = fetches[id] || (fetches[id] = {busy: false, again: false, waitingOn: null, last: 0, timer: null});
    if (state.busy || state.timer) { state.again = true; return; }
    if (busyHands(el)) {
      el.setAttribute("data-live-pending", ""); // an update is waiting (the fetched element has none)
      if (state.waitingOn !== el) {
        state.waitingOn = el;
        el.addEventListener("focusout", function () {
          state.waitingOn = null;
          setTimeout(function () { refresh(id); }, 0); // once focus has moved on
        }, {once: true});
      }
      return;
    }
    var wait = state.last + (Number(el.getAttribute("data-live-gap") || 0) || 0) - Date.now();
    if (wait > 0) { // too soon after the last fetch: one fetch when the gap is over covers every event until then
      state.timer = setTimeout(function () { state.timer = null; state.again = false; refresh(id); }, wait);
      return;
    }
    state.busy = true;
    state.last = Date.now();
    var url = el.getAttribute("data-live-get") || window.location.pathname + window.location.search;
    window.htmx.ajax("GET", url, {target: el, swap: "outerHTML", select: "#" + CSS.escape(id)})
      .catch(function () { /* the next event, or a reload, will do */ })
      .then(function () {
        state.busy = false;
        if (state.again) { state.again = false; refresh(id); }
      });
  }

  // The version an element already shows: what it was rendered at, or what its own page's last
  // action answered with (X-Live-Version), whichever is later.
  function shownVersion(el) {
    var since = Number(el.getAttribute("data-live-since") || 0);
    return isNaN(since) ? 0 : since;
  }

  function onEvent(url, name, id) {
    var following = 0;
    var version = Number(id || 0);
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (el.getAttribute("data-live") !== url || !el.id) { return; }
      following += 1;
      if (eventNames(el).indexOf(name) === -1) { return; }
      if (version && shownVersion(el) >= version) { return; } // already shows it: its own change
      if (posting) { // the action's own answer may already show this change: decide when it is in
        heldBack[el.id] = Math.max(heldBack[el.id] || 0, version || Number.MAX_SAFE_INTEGER);
        return;
      }
      refresh(el.id);
    });
    if (!following) { streams[url].source.close(); delete streams[url]; } // nothing follows it now
  }

  function connect(root) {
    if (typeof window.EventSource === "undefined" || !root.querySelectorAll) { return; }
    var els = Array.prototype.slice.call(root.querySelectorAll("[data-live]"));
    if (root.matches && root.matches("[data-live]")) { els.push(root); }
    els.forEach(function (el) {
      var url = el.getAttribute("data-live");
      if (!url) { return; }
      var stream = streams[url];
      if (!stream) {
        var since = el.getAttribute("data-live-since");
        var first = since ? url + (url.indexOf("?") === -1 ? "?" : "&") + "since=" + encodeURIComponent(since) : url;
        stream = streams[url] = {source: new EventSource(first), names: {}};
      }
      eventNames(el).forEach(function (name) {
        if (stream.names[name]) { return; }
        stream.names[name] = true;
        stream.source.addEventListener(name, function (e) { onEvent(url, name, e.lastEventId); });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { connect(document); });
  } else {
    connect(document);
  }
  document.addEventListener("htmx:load", function (e) { connect(e.detail.elt); });
  // An action's answer says which version it shows; remember it on the live element around it, so
  // the event of that same change does not re-fetch (and wipe an error or race the next press).
  function isAction(e) {
    var verb = e.detail && e.detail.requestConfig && e.detail.requestConfig.verb;
    return verb && verb.toLowerCase() !== "get";
  }
  document.addEventListener("htmx:beforeRequest", function (e) { if (isAction(e)) { posting += 1; } });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (!isAction(e)) { return; }
    posting = Math.max(0, posting - 1);
    var xhr = e.detail.xhr;
    var version = xhr ? Number(xhr.getResponseHeader("X-Live-Version") || 0) : 0;
    if (version) {
      document.querySelectorAll("[data-live]").forEach(function (el) {
        if (shownVersion(el) < version) { el.setAttribute("data-live-since", String(version)); }
      });
    }
    if (posting) { return; }
    var held = heldBack;
    heldBack = {};
    Object.keys(held).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && held[id] > shownVersion(el)) { refresh(id); } // someone else changed it meanwhile
    });
  });
})();
