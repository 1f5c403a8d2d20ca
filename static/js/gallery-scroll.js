// The gallery's end ("Load older jobs") is swapped for the next page's cards.
// If it had the keyboard focus (tabbing to it scrolls it into view, which
// loads the cards), focus moves to the first new card rather than being lost
// with the link; the page works without this file.
"use strict";

let resumeAfter = null; // the element before the grid's end that had the focus

document.addEventListener("htmx:beforeRequest", () => { resumeAfter = null; });

document.addEventListener("htmx:beforeSwap", (event) => {
  const end = event.detail.target;
  if (!end || !end.classList || !end.classList.contains("grid-end")) return;
  if (end.contains(document.activeElement)) resumeAfter = end.previousElementSibling || end.parentElement;
});

document.addEventListener("htmx:afterSettle", () => {
  if (!resumeAfter || !resumeAfter.isConnected) return;
  const first = resumeAfter.classList.contains("gallery-grid")
    ? resumeAfter.firstElementChild
    : resumeAfter.nextElementSibling;
  resumeAfter = null;
  if (!first) return;
  // A card's one tab stop is its title (cards.js); anything else, its first control.
  const target = first.matches("a[href], button, [tabindex]")
    ? first
    : first.querySelector(".job-link") || first.querySelector("a[href], button, [tabindex]");
  if (target) target.focus();
});
