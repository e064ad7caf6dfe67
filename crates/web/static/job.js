// The page of a running job: moves the progress bar from /jobs/{id}/progress every second
// and reloads the page once the job has ended, to show its outcome. Without scripts the page
// refreshes itself instead (a <noscript> refresh).
(function () {
  var box = document.getElementById("job");
  if (!box || box.getAttribute("data-running") !== "true") return;
  var url = box.getAttribute("data-progress");
  function show(p) {
    document.getElementById("job-bar").value = p.percent;
    document.getElementById("job-percent").textContent = p.percent + " %";
    document.getElementById("job-counts").textContent =
      "Обработано " + p.done + " из " + p.total + ", успешно " + p.succeeded + ", отказов " + p.refused;
  }
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) { window.setTimeout(poll, 3000); return; }
        show(p);
        if (p.running) window.setTimeout(poll, 1000);
        else window.location.reload();
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
