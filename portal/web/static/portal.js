/* Search suggestions: under an input with data-suggest, a list of matching datasets from
   GET /api/v1/suggest?q= (WAI-ARIA combobox: arrow keys, Enter, Escape). Without this
   script the search form works as it is. No library, no build step. */
(function () {
  "use strict";

  function setup(input) {
    var list = document.createElement("ul");
    var listId = input.id + "-suggestions";
    var timer = null;
    var asked = 0;
    var active = -1;
    list.id = listId;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", input.getAttribute("data-suggest-label") || "");
    list.hidden = true;
    input.parentNode.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("aria-expanded", "false");

    function options() {
      return list.querySelectorAll("[role=option]");
    }

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var items = options();
      if (!items.length) return;
      active = (index + items.length) % items.length;
      for (var i = 0; i < items.length; i++) {
        items[i].setAttribute("aria-selected", i === active ? "true" : "false");
      }
      input.setAttribute("aria-activedescendant", items[active].id);
    }

    function show(suggestions) {
      list.textContent = "";
      suggestions.forEach(function (s, i) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        item.id = listId + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        link.href = input.getAttribute("data-dataset-url").replace("__name__", encodeURIComponent(s.name));
        link.textContent = s.title;
        link.tabIndex = -1;
        item.appendChild(link);
        list.appendChild(item);
      });
      if (suggestions.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      } else {
        close();
      }
    }

    function ask() {
      var text = input.value.trim();
      var mine = ++asked;
      if (!text) return close();
      fetch(input.getAttribute("data-suggest") + "?q=" + encodeURIComponent(text), {
        headers: { Accept: "application/json" }
      })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (body) { if (mine === asked) show(body.suggestions || []); })
        .catch(close);
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 150); // one request per pause in typing
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        window.location.href = options()[active].querySelector("a").href;
      } else if (event.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", function () {
      setTimeout(close, 200); // after a click on a suggestion has followed its link
    });
  }

  document.querySelectorAll("input[data-suggest]").forEach(setup);
})();
