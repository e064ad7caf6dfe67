// Small page behaviours without inline script (the Content-Security-Policy forbids it):
// links marked data-action="print" print the page, data-action="back" go back in history,
// and forms marked data-no-submit are never submitted (they only host a picker).
document.addEventListener("click", function (e) {
  var link = e.target.closest && e.target.closest("[data-action]");
  if (!link) return;
  var action = link.getAttribute("data-action");
  if (action === "print") {
    e.preventDefault();
    window.print();
  } else if (action === "back" && window.history.length > 1) {
    e.preventDefault();
    window.history.back();
  }
});
document.addEventListener("submit", function (e) {
  if (e.target.hasAttribute && e.target.hasAttribute("data-no-submit")) e.preventDefault();
});
