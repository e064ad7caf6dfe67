// The position form, live: the ИКЗ as the fields are typed (the same rule as domain::ikz), the
// sums of the КБК/КВР breakdown against the financing, and one more breakdown row on demand.
// Without JavaScript the form still works: the server computes and checks the same on save.
(function () {
  "use strict";
  const form = document.getElementById("position-form");
  const out = document.getElementById("ikz-live");
  if (!form || !out) return;
  const value = (name) => (form.elements[name] ? form.elements[name].value.trim() : "");

  function ikz() {
    const year = value("publish_year");
    if (!/^20\d\d$/.test(year)) return "—";
    const special = value("special_type") !== "";
    const codes = value("okpd2").split(/[,;\s]+/).filter(Boolean);
    let okpd = "0000";
    if (!special && codes.length === 1) {
      const digits = codes[0].replace(/\./g, "");
      if (!/^\d{4,}$/.test(digits)) return "—";
      okpd = digits.slice(0, 4);
    } else if (!special && codes.length === 0) {
      return "—";
    }
    let kvr = value("kvr");
    if (kvr === "") kvr = "000";
    if (!/^\d{3}$/.test(kvr)) return "—";
    const iku = out.dataset.iku;
    if (!/^\d{20}$/.test(iku)) return "—";
    return year.slice(2) + iku + out.dataset.number + "000" + okpd + kvr;
  }

  // Money as kopecks, the way a Russian user types it: «1 234,56».
  function kopecks(text) {
    const t = text.replace(/[\s\u00a0\u202f]/g, "").replace(",", ".");
    if (t === "") return 0;
    if (!/^\d+(\.\d{1,2})?$/.test(t)) return NaN;
    const [whole, frac = ""] = t.split(".");
    return Number(whole) * 100 + Number((frac + "00").slice(0, 2));
  }
  const rub = (k) => (k / 100).toLocaleString("ru-RU", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  const YEARS = ["current", "first", "second", "subsequent"];
  // Each breakdown table (КБК, КВР, target articles) against the position's financing.
  function sums() {
    form.querySelectorAll("table.lines").forEach((table) => {
      const note = document.getElementById(table.id + "-sum");
      const prefix = table.dataset.prefix;
      if (!note || !prefix) return;
      const rows = Array.from(table.tBodies[0].rows).filter((r) => Array.from(r.querySelectorAll("input")).some((i) => i.value.trim() !== ""));
      if (rows.length === 0) {
        note.textContent = "";
        note.classList.remove("bad");
        return;
      }
      const lines = YEARS.map((y) => rows.reduce((acc, r) => acc + kopecks(r.querySelector(`input[name=${prefix}_${y}]`).value), 0));
      const financing = YEARS.map((y) => kopecks(value(`amount_${y}`)));
      if (lines.some(Number.isNaN) || financing.some(Number.isNaN)) {
        note.textContent = "Проверьте суммы: допустимы цифры и не более двух знаков после запятой.";
        return;
      }
      const same = lines.every((v, i) => v === financing[i]);
      note.textContent = `Распределено: ${lines.map(rub).join(" / ")}` + (same ? " — совпадает с финансовым обеспечением." : ` — не совпадает с финансовым обеспечением (${financing.map(rub).join(" / ")}).`);
      note.classList.toggle("bad", !same);
    });
  }

  function addLine(table) {
    const body = table.tBodies[0];
    const row = body.rows[body.rows.length - 1].cloneNode(true);
    const n = body.rows.length + 1;
    row.querySelectorAll("input").forEach((i) => {
      i.value = "";
      i.setAttribute("aria-label", i.getAttribute("aria-label").replace(/\d+$/, String(n)));
    });
    body.appendChild(row);
    row.querySelector("input").focus();
  }

  function refresh() {
    out.textContent = ikz();
    sums();
  }
  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);
  form.querySelectorAll("button.add-line").forEach((button) => {
    const table = document.getElementById(button.dataset.table);
    if (table) button.addEventListener("click", () => addLine(table));
  });
  refresh();
})();
