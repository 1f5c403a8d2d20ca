// The gallery's cards: one tab stop each, and selecting them for the selection bar.
// Without this file every control of a card is in the tab order and the bar still
// works (CSS shows it while a box is ticked). With it:
//  - a card's title link is its only tab stop (roving tabindex, as the WAI-ARIA
//    toolbar pattern): → and ← move through the card's other controls — Select,
//    Open, Star, then each picture and its download, then the picture it was
//    made from — wrapping round; Home and End go to the first and last of them,
//    Esc back to the title; Tab and Shift+Tab leave the card;
//  - shift-click on a card's box ticks or unticks the range from the last box clicked;
//  - the bar counts the selection, and clears it once an action is done.
"use strict";

const GRID = "#job-grid";
const CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea";

const title = (card) => card.querySelector(".job-link");

function controls(card) {
  const main = title(card);
  const rest = [...card.querySelectorAll(CONTROLS)].filter((el) => el !== main);
  return main ? [main, ...rest] : rest;
}

// Cards come and go (pages appended, live refreshes, stars swapped): every
// control but the title leaves the tab order, whenever the grid changes.
function tameAll() {
  document.querySelectorAll(`${GRID} .job-card`).forEach((card) => {
    const main = title(card);
    if (!main) return; // a deleted card: its Undo stays in the tab order
    card.dataset.roving = "";
    for (const el of controls(card)) if (el !== main && el.tabIndex !== -1) el.tabIndex = -1;
  });
}

let pending = false;
function soon() {
  if (pending) return;
  pending = true;
  queueMicrotask(() => { pending = false; tameAll(); });
}

document.addEventListener("DOMContentLoaded", () => {
  const grid = document.querySelector(GRID);
  if (!grid) return;
  tameAll();
  new MutationObserver(soon).observe(grid, { childList: true, subtree: true });
  count();
});

document.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const card = event.target.closest?.(`${GRID} .job-card[data-roving]`);
  if (!card) return;
  const list = controls(card);
  const at = list.indexOf(event.target);
  if (at < 0) return;
  let next = null;
  switch (event.key) {
    case "ArrowRight": next = list[(at + 1) % list.length]; break;
    case "ArrowLeft": next = list[(at - 1 + list.length) % list.length]; break;
    case "Home": if (at > 0) next = list[0]; break;
    case "End": if (at > 0) next = list[list.length - 1]; break;
    case "Escape": if (at > 0) next = list[0]; break;
    // From inside the card, Tab goes on from its title: to the next card, or back.
    case "Tab": if (at > 0) list[0].focus(); return;
    default: return;
  }
  if (!next) return;
  event.preventDefault();
  next.focus();
});

// A swapped control (a star toggled, a card refreshed) takes the focus with it:
// give it back to the same place in the new card.
let resume = null;
function remember(event) {
  const target = event.detail.target;
  const active = document.activeElement;
  const card = active?.closest?.(`${GRID} .job-card[data-roving]`);
  if (card && target && target.contains(active)) resume = { id: card.id, at: controls(card).indexOf(active) };
}
function giveBack() {
  if (!resume || (document.activeElement && document.activeElement !== document.body)) return;
  const card = document.getElementById(resume.id);
  const { at } = resume;
  resume = null;
  if (!card) return;
  tameAll();
  const list = controls(card);
  (list[at] || list[0])?.focus();
}
document.addEventListener("htmx:beforeSwap", remember);
document.addEventListener("htmx:oobBeforeSwap", remember);
document.addEventListener("htmx:afterSettle", giveBack);
document.addEventListener("htmx:oobAfterSwap", giveBack);

// --- selection ---------------------------------------------------------------------

const boxes = () => [...document.querySelectorAll(`${GRID} .select-job`)];
let anchor = null; // the last box clicked, where a shift-click range starts

function count() {
  const out = document.getElementById("selection-count");
  const form = document.getElementById("bulk-form");
  if (!out || !form) return;
  const n = boxes().filter((box) => box.checked).length;
  const limit = Number(form.dataset.limit || 0);
  out.textContent = limit && n > limit ? `${n} selected: more than ${limit}, unselect some` : `${n} selected`;
}

function clearStatus() {
  const status = document.getElementById("selection-status");
  if (status) status.replaceChildren();
}

document.addEventListener("click", (event) => {
  const box = event.target.closest?.(".select-job");
  if (!box) return;
  if (event.shiftKey && anchor && anchor !== box && anchor.isConnected) {
    const all = boxes();
    const [from, to] = [all.indexOf(anchor), all.indexOf(box)].sort((a, b) => a - b);
    if (from >= 0) all.slice(from, to + 1).forEach((other) => { other.checked = box.checked; });
  }
  anchor = box;
  clearStatus();
  count();
});

document.addEventListener("change", (event) => {
  if (event.target.matches?.(".select-job")) count();
});

// A live refresh sends an in-flight card anew as it moves on: it stays selected.
document.addEventListener("htmx:oobBeforeSwap", (event) => {
  const { target, fragment } = event.detail;
  if (!target?.matches?.(`${GRID} .job-card`) || !target.querySelector(".select-job:checked")) return;
  const box = fragment?.querySelector?.(`#${CSS.escape(target.id)} .select-job`);
  if (box) box.checked = true;
});

document.addEventListener("reset", (event) => {
  if (event.target.id !== "bulk-form") return;
  clearStatus();
  setTimeout(count); // the boxes are unticked after the event
});

document.addEventListener("click", (event) => {
  if (!event.target.closest?.(".dismiss-status")) return;
  clearStatus();
  document.querySelector(`${GRID} .job-link`)?.focus();
});

// An action done: the selection is cleared and the focus goes to what the bar
// says (with its Undo), since the button pressed is hidden with the selection.
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.target?.id !== "selection-status") return;
  const status = event.detail.target;
  const ok = event.detail.xhr && event.detail.xhr.status < 300;
  if (!ok) return;
  const form = document.getElementById("bulk-form");
  if (form) {
    boxes().forEach((box) => { box.checked = false; });
    anchor = null;
    count();
  }
  const close = status.querySelector(".dismiss-status");
  if (close) close.hidden = false;
  (status.querySelector("form button") || close)?.focus();
});
