// kehu: a little progressive enhancement. Every page works without it.
document.addEventListener("click", (e) => {
  const t = e.target.closest("[data-toggle-nav]");
  if (!t) return;
  const nav = document.getElementById(t.getAttribute("aria-controls"));
  const open = nav.classList.toggle("open");
  t.setAttribute("aria-expanded", String(open));
});
document.addEventListener("submit", (e) => {
  const msg = e.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) e.preventDefault();
});
// List kit: a page-size select submits its form when changed (the button remains without JS).
document.addEventListener("change", (e) => {
  if (e.target.matches("select[data-autosubmit]")) e.target.form.requestSubmit();
});
