/*
 * plangraf: pickers for reference data (НСИ). No dependencies; the page works without it.
 *
 * Attribute contract
 *   <input type="text" name="okpd2" data-nsi="okpd2" data-nsi-name="okpd2-name">
 *   <span id="okpd2-name"></span>
 *
 *   data-nsi       the catalog: okpd2 | kvr | change_reason | special_purchase | kbk.
 *                  Typing searches GET /reference/{catalog}?q=… (code prefix, dots optional,
 *                  or words of the name; only actual records, at most 20) and lists the
 *                  records under the input. Choosing one puts its code into the input.
 *   data-nsi-name  optional: the id of an element that receives the chosen record's name
 *                  (its value for input/textarea, its text otherwise). It is cleared when the
 *                  code is typed by hand.
 *
 *   data-nsi-multiple  optional: the input holds several codes separated by commas; the last
 *                  one is searched for and replaced by the choice, the others are kept.
 *
 *   Keys: ↓/↑ move through the list (↓ also opens it), Enter chooses, Escape closes.
 *   The input keeps what was typed when nothing is chosen: the server still checks it.
 *   Inputs added to the page later work too (events are handled on the document).
 *   Choosing fires "input" and "change" on the input, and "nsi:chosen" with
 *   detail {code, name}.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 200;
  var CATALOGS = ["okpd2", "kvr", "change_reason", "special_purchase", "kbk"];
  var counter = 0;
  var states = new WeakMap();

  function pickerInput(el) {
    return el && el.tagName === "INPUT" && el.hasAttribute("data-nsi") &&
      CATALOGS.indexOf(el.getAttribute("data-nsi")) >= 0 ? el : null;
  }

  function state(input) {
    var s = states.get(input);
    if (s) return s;
    counter += 1;
    var list = document.createElement("ul");
    list.id = "nsi-list-" + counter;
    list.className = "nsi-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    // Keep the focus in the input while an option is clicked.
    list.addEventListener("mousedown", function (e) { e.preventDefault(); });
    list.addEventListener("click", function (e) {
      var li = e.target.closest("li[data-code]");
      if (li) choose(input, Number(li.getAttribute("data-index")));
    });
    input.insertAdjacentElement("afterend", list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off");
    s = { list: list, items: [], active: -1, timer: 0, seq: 0 };
    states.set(input, s);
    return s;
  }

  function place(input, list) {
    list.style.left = input.offsetLeft + "px";
    list.style.top = input.offsetTop + input.offsetHeight + "px";
    list.style.minWidth = input.offsetWidth + "px";
  }

  function close(input) {
    var s = states.get(input);
    if (!s) return;
    s.list.hidden = true;
    s.active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function message(input, text) {
    var s = state(input);
    s.items = [];
    s.active = -1;
    s.list.textContent = "";
    var li = document.createElement("li");
    li.className = "nsi-empty";
    li.textContent = text;
    s.list.appendChild(li);
    place(input, s.list);
    s.list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function show(input, items) {
    var s = state(input);
    if (!items.length) {
      message(input, "Ничего не найдено");
      return;
    }
    s.items = items;
    s.active = -1;
    s.list.textContent = "";
    items.forEach(function (item, i) {
      var li = document.createElement("li");
      li.id = s.list.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-index", String(i));
      li.setAttribute("data-code", item.code);
      var code = document.createElement("b");
      code.textContent = item.code;
      li.appendChild(code);
      if (item.name) li.appendChild(document.createTextNode(" — " + item.name));
      s.list.appendChild(li);
    });
    place(input, s.list);
    s.list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function highlight(input, index) {
    var s = states.get(input);
    if (!s || !s.items.length) return;
    var n = s.items.length;
    s.active = (index + n) % n;
    Array.prototype.forEach.call(s.list.children, function (li, i) {
      li.setAttribute("aria-selected", i === s.active ? "true" : "false");
    });
    var li = s.list.children[s.active];
    input.setAttribute("aria-activedescendant", li.id);
    li.scrollIntoView({ block: "nearest" });
  }

  function nameTarget(input) {
    var id = input.getAttribute("data-nsi-name");
    return id ? document.getElementById(id) : null;
  }

  function setName(input, name) {
    var target = nameTarget(input);
    if (!target) return;
    if (target.tagName === "INPUT" || target.tagName === "TEXTAREA") target.value = name;
    else target.textContent = name;
  }

  function choose(input, index) {
    var s = states.get(input);
    var item = s && s.items[index];
    if (!item) return;
    if (input.hasAttribute("data-nsi-multiple")) {
      var head = input.value.replace(/[^,;]*$/, "");
      input.value = head + (head ? " " : "") + item.code;
    } else {
      input.value = item.code;
    }
    setName(input, item.name);
    close(input);
    s.choosing = true;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
    s.choosing = false;
    input.dispatchEvent(new CustomEvent("nsi:chosen", { bubbles: true, detail: { code: item.code, name: item.name } }));
  }

  // What is searched for: the whole value, or its last code in a multiple input.
  function query(input) {
    var v = input.value;
    if (input.hasAttribute("data-nsi-multiple")) v = v.split(/[,;]/).pop();
    return v.trim();
  }

  function search(input) {
    var s = state(input);
    var seq = ++s.seq;
    var url = "/reference/" + encodeURIComponent(input.getAttribute("data-nsi")) + "?q=" + encodeURIComponent(query(input));
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401) throw new Error("Сеанс завершён: войдите в plangraf заново");
        if (r.status === 400) return r.json().then(function (b) { throw new Error(b.error || "Запрос не принят"); });
        if (!r.ok) throw new Error("Справочник сейчас недоступен");
        return r.json();
      })
      .then(function (items) {
        // A slower answer to an older query must not replace a newer one.
        if (seq === s.seq && document.activeElement === input) show(input, items);
      })
      .catch(function (e) {
        if (seq === s.seq && document.activeElement === input) message(input, e.message || "Справочник сейчас недоступен");
      });
  }

  function schedule(input) {
    var s = state(input);
    clearTimeout(s.timer);
    s.timer = setTimeout(function () { search(input); }, DEBOUNCE_MS);
  }

  document.addEventListener("input", function (e) {
    var input = pickerInput(e.target);
    if (!input) return;
    var s = state(input);
    if (s.choosing) return;
    setName(input, "");
    schedule(input);
  });

  document.addEventListener("keydown", function (e) {
    var input = pickerInput(e.target);
    if (!input) return;
    var s = state(input);
    var open = !s.list.hidden && s.items.length > 0;
    if (e.key === "ArrowDown") {
      e.preventDefault();
      if (open) highlight(input, s.active + 1);
      else search(input);
    } else if (e.key === "ArrowUp") {
      if (open) {
        e.preventDefault();
        highlight(input, s.active - 1);
      }
    } else if (e.key === "Enter") {
      // Enter picks the highlighted record instead of submitting the form.
      if (open && s.active >= 0) {
        e.preventDefault();
        choose(input, s.active);
      }
    } else if (e.key === "Escape") {
      if (!s.list.hidden) {
        e.preventDefault();
        close(input);
      }
    }
  });

  document.addEventListener("focusout", function (e) {
    var input = pickerInput(e.target);
    if (input) close(input);
  });
})();
