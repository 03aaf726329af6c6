// kehu: a little progressive enhancement, our own. Every page works without it.
// Loaded in <head> (small, cached), so the phone navigation starts collapsed without a flash;
// everything else waits for the document or listens on it.
"use strict";
document.documentElement.classList.add("js");

// Typing in a field: the search shortcut "/" must not steal the character.
function typing(el) {
  if (!el) return false;
  const tag = el.tagName;
  return el.isContentEditable || tag === "TEXTAREA" || tag === "SELECT" ||
    (tag === "INPUT" && !["checkbox", "radio", "button", "submit", "reset"].includes(el.type));
}

function focusSearch() {
  const box = document.getElementById("search-q");
  if (!box) return false;
  box.focus();
  box.select();
  return true;
}

function closeMenus(except) {
  document.querySelectorAll("details.user-menu[open]").forEach((d) => {
    if (d !== except) d.open = false;
  });
}

document.addEventListener("keydown", (e) => {
  // "/" outside a field, or Ctrl+K / Cmd+K anywhere: the header search.
  const slash = e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey && !typing(e.target);
  const ctrlK = (e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "k" || e.key === "K");
  if ((slash || ctrlK) && focusSearch()) {
    e.preventDefault();
    closeMenus(null);
    return;
  }
  if (e.key === "Escape") {
    const open = document.querySelector("details.user-menu[open]");
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
    } else if (e.target && e.target.id === "search-q") {
      e.target.blur();
    }
  }
});

document.addEventListener("click", (e) => {
  // A click outside an open user menu closes it.
  const menu = e.target.closest("details.user-menu");
  closeMenus(menu);

  const toggle = e.target.closest("[data-toggle-nav]");
  if (toggle) {
    const nav = document.getElementById(toggle.getAttribute("aria-controls"));
    const open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  }

  // A report's print button: the page prints on A4 with the report's heading (app.css).
  if (e.target.closest("[data-print]")) window.print();

  const dismiss = e.target.closest("[data-dismiss]");
  if (dismiss) dismiss.parentElement.remove();

  // An error summary's link focuses its field (the browser only scrolls to it).
  const link = e.target.closest("[data-error-summary] a[href^='#']");
  if (link) {
    const target = document.getElementById(link.getAttribute("href").slice(1));
    if (target) {
      e.preventDefault();
      const field = target.matches("input, select, textarea, [tabindex]") ? target
        : target.querySelector("input:not([disabled]), select, textarea");
      (field || target).focus();
      (target.closest(".field") || target).scrollIntoView({ block: "center" });
    }
  }
});

// Keyboard users leaving the open menu with Tab close it.
document.addEventListener("focusin", (e) => {
  closeMenus(e.target.closest && e.target.closest("details.user-menu"));
});

document.addEventListener("submit", (e) => {
  const form = e.target;
  const msg = form.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) {
    e.preventDefault();
    return;
  }
  if (e.defaultPrevented || form.method.toLowerCase() !== "post") return;
  // Saving: the button is disabled until the answer comes, so a double click sends once.
  // Disabled after this event, so the browser still sends the form.
  const buttons = form.querySelectorAll("button[type=submit], button:not([type])");
  setTimeout(() => buttons.forEach((b) => {
    b.disabled = true;
    b.setAttribute("data-busy", "");
  }), 0);
});

// Back to a page from the browser's cache: its buttons work again.
window.addEventListener("pageshow", () => {
  document.querySelectorAll("button[data-busy]").forEach((b) => {
    b.disabled = false;
    b.removeAttribute("data-busy");
  });
});

// The rights grid: a select-all box per group that shows the group's state (checked, not,
// or indeterminate when partly checked); disabled boxes (rights not held) are left alone.
function groupState(group) {
  const all = group.querySelector("[data-group-all]");
  const boxes = [...group.querySelectorAll("input[name=rights]")];
  const usable = boxes.filter((b) => !b.disabled);
  const checked = usable.filter((b) => b.checked).length;
  all.disabled = group.disabled || usable.length === 0;
  all.checked = usable.length > 0 && checked === usable.length;
  all.indeterminate = checked > 0 && checked < usable.length;
}

function initRightsGrid() {
  document.querySelectorAll("[data-rights-group]").forEach((group) => {
    const all = group.querySelector("[data-group-all]");
    if (!all) return;
    all.closest("label").hidden = false;
    all.addEventListener("change", () => {
      group.querySelectorAll("input[name=rights]").forEach((b) => {
        if (!b.disabled) b.checked = all.checked;
      });
      groupState(group);
    });
    group.addEventListener("change", (e) => {
      if (e.target.name === "rights") groupState(group);
    });
    groupState(group);
  });
}

// On a phone a table shows a card per row: each cell is labelled with its column's header
// (templates may set data-label themselves).
function labelCells() {
  document.querySelectorAll(".table-wrap table").forEach((table) => {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    table.querySelectorAll("tbody tr").forEach((tr) => {
      [...tr.children].forEach((td, i) => {
        if (!td.hasAttribute("data-label") && heads[i] && !td.hasAttribute("colspan")) {
          td.setAttribute("data-label", heads[i]);
        }
      });
    });
  });
}

// A select that applies itself (e.g. a list's page size).
document.addEventListener("change", (e) => {
  if (e.target.matches("select[data-autosubmit]") && e.target.form) e.target.form.requestSubmit();
});

// The pipeline board: a card may be dragged onto the columns it may move to (its
// data-moves); dropped, it takes that move as its own link or button would (the "won" form
// is posted, the others open the opportunity's form). The links and buttons stay for
// keyboards, touch screens and pages without script.
function initBoard() {
  const board = document.querySelector("[data-board]");
  if (!board) return;
  let dragged = null;
  const columns = () => board.querySelectorAll("[data-status]");
  const clear = () => {
    columns().forEach((c) => c.classList.remove("drop-ok", "drop-over"));
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
  };
  board.addEventListener("dragstart", (e) => {
    const card = e.target.closest && e.target.closest(".deal[data-moves]");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.id);
    const moves = card.dataset.moves.split(" ");
    columns().forEach((c) => c.classList.toggle("drop-ok", moves.includes(c.dataset.status)));
  });
  board.addEventListener("dragend", clear);
  board.addEventListener("dragover", (e) => {
    const col = dragged && e.target.closest("[data-status].drop-ok");
    if (!col) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    columns().forEach((c) => c.classList.toggle("drop-over", c === col));
  });
  board.addEventListener("drop", (e) => {
    const col = dragged && e.target.closest("[data-status].drop-ok");
    if (!col) return;
    e.preventDefault();
    const move = dragged.querySelector(`[data-move="${col.dataset.status}"]`);
    clear();
    if (!move) return;
    if (move.tagName === "FORM") move.requestSubmit();
    else window.location.assign(move.href);
  });
}

function init() {
  initRightsGrid();
  initBoard();
  labelCells();
  document.querySelectorAll("[data-dismiss]").forEach((b) => { b.hidden = false; });
  // A form that came back with errors: focus its first invalid field (or the one it names:
  // after a failed sign-in, the password).
  if (document.querySelector("[data-error-summary]")) {
    const first = document.querySelector("[data-error-focus]") ||
      document.querySelector("[aria-invalid=true]:not([disabled])");
    if (first) first.focus();
  }
  // "Saved" shows once: a reload does not say it again.
  const url = new URL(window.location.href);
  if (url.searchParams.has("saved") && document.getElementById("flash")) {
    url.searchParams.delete("saved");
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  }
}

// An import running in the background (the import page): poll its status every second and
// show the counts; reload once it is done, for the summary and the rejects file. Without
// JavaScript the page refreshes itself instead.
function pollImport() {
  const box = document.getElementById("import-status");
  if (!box || box.dataset.running !== "true") return;
  const tick = async () => {
    try {
      const r = await fetch(box.dataset.status, {credentials: "same-origin"});
      const s = await r.json();
      const c = s.counts;
      const bar = document.getElementById("import-progress");
      if (bar && c.bytes_total > 0) bar.value = Math.min(100, Math.floor(c.bytes_read * 100 / c.bytes_total));
      const line = document.getElementById("import-line");
      if (line) line.textContent = s.summary;
      if (s.state !== "running") { window.location.reload(); return; }
    } catch (e) { /* try again */ }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", pollImport);
} else {
  pollImport();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
