/* Low-code forms: show a field only while its show_if condition holds.
 *
 * A field rendered by core/templates/lowcode/form.html carries data-show-if='{"field": "category",
 * "equals": "其他"}' (or "in": [...], or "checked": true). While the condition is false the field is
 * hidden and its inputs are disabled, so they are neither validated by the browser nor submitted;
 * inputs marked data-lc-required get `required` while shown. The server applies the same rule to
 * what is submitted, so without this script every field simply shows.
 *
 * A static file because the Content-Security-Policy forbids inline script. Works on pages loaded
 * normally and on fragments swapped in by htmx (htmx:load).
 */
(function () {
  "use strict";

  function scopeOf(el) {
    return el.closest("form") || document;
  }

  function submitted(scope, name) {
    var values = [];
    scope.querySelectorAll("[name]").forEach(function (el) {
      if (el.name !== name || el.disabled) {
        return;
      }
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) {
          values.push(el.value);
        }
      } else if (el.tagName === "SELECT" && el.multiple) {
        Array.prototype.forEach.call(el.selectedOptions, function (o) { values.push(o.value); });
      } else {
        values.push(el.value);
      }
    });
    return values
      .map(function (v) { return v.trim().normalize("NFC"); })
      .filter(function (v) { return v !== ""; });
  }

  function holds(condition, values) {
    if (typeof condition.checked === "boolean") {
      return (values.length > 0) === condition.checked;
    }
    var wanted = Array.isArray(condition["in"]) ? condition["in"] : [condition.equals];
    return values.some(function (v) { return wanted.indexOf(v) !== -1; });
  }

  function setShown(wrapper, shown) {
    if (wrapper.hidden === !shown) {
      return false;
    }
    wrapper.hidden = !shown;
    wrapper.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!shown && !el.disabled) {
        el.disabled = true;
        el.setAttribute("data-show-if-disabled", "");
      } else if (shown && el.hasAttribute("data-show-if-disabled")) {
        el.disabled = false;
        el.removeAttribute("data-show-if-disabled");
      }
    });
    return true;
  }

  function refresh(root) {
    var wrappers = (root || document).querySelectorAll("[data-show-if]");
    if (!wrappers.length) {
      return;
    }
    wrappers.forEach(function (wrapper) {
      wrapper.querySelectorAll("[data-lc-required]").forEach(function (el) { el.required = true; });
    });
    // A field whose controller is hidden is hidden too; repeat until nothing changes (chains are short).
    for (var pass = 0; pass < 10; pass += 1) {
      var changed = false;
      wrappers.forEach(function (wrapper) {
        var condition;
        try {
          condition = JSON.parse(wrapper.getAttribute("data-show-if"));
        } catch (e) {
          return;
        }
        var scope = scopeOf(wrapper);
        var controller = scope.querySelector('[data-field="' + condition.field + '"]');
        var shown = !(controller && controller.hidden) && holds(condition, submitted(scope, condition.field));
        changed = setShown(wrapper, shown) || changed;
      });
      if (!changed) {
        break;
      }
    }
  }

  function onChange(event) {
    var target = event.target;
    if (target && target.name && scopeOf(target).querySelector("[data-show-if]")) {
      refresh(scopeOf(target));
    }
  }

  document.addEventListener("change", onChange);
  document.addEventListener("input", onChange);
  document.addEventListener("htmx:load", function () { refresh(document); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { refresh(document); });
  } else {
    refresh(document);
  }
})();
