// Small progressive enhancements; every page works without this file.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copyTarget);
  if (!input) return;
  input.select();
  navigator.clipboard?.writeText(input.value).then(
    () => { button.textContent = "Copied"; },
    () => { document.execCommand?.("copy"); },
  );
});

// Close an open <details> menu when clicking elsewhere or pressing Escape.
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    menu.removeAttribute("open");
    menu.querySelector("summary")?.focus();
  });
});

// A refused or failed htmx request shows its message where the member acted
// and leaves the page as it was. Fragments that carry their own error (a 400
// or 422 from a form) are swapped in as usual; everything else that is not
// swapped — a 403 or 404 from the error handlers, a 500, a lost connection —
// is explained here.
const GENERIC = {
  403: "You are not allowed to do that.",
  404: "That is no longer there, or not yours to see. Reload the page to see what is.",
  405: "That action is not available here.",
  413: "That file is too large.",
  429: "Too many requests at once. Wait a moment and try again.",
};

function messageFrom(xhr) {
  const type = xhr.getResponseHeader("Content-Type") || "";
  const body = xhr.responseText || "";
  if (type.startsWith("text/html") && body) {
    const doc = new DOMParser().parseFromString(body, "text/html");
    const marked = doc.querySelector("[data-error-message]");
    if (marked && marked.textContent.trim()) return marked.textContent.trim();
  } else if (type.startsWith("application/json") && body) {
    try {
      const data = JSON.parse(body);
      const text = data.error?.message || data.detail || data.message;
      if (typeof text === "string" && text) return text;
    } catch (_) { /* fall through to the generic message */ }
  } else if (type.startsWith("text/plain") && body.trim()) {
    return body.trim().slice(0, 300);
  }
  if (GENERIC[xhr.status]) return GENERIC[xhr.status];
  if (xhr.status >= 500) return `Something went wrong on our side (${xhr.status}). Nothing was charged for it; try again.`;
  return `The request was refused (${xhr.status}).`;
}

function placeFor(elt) {
  // Background requests (the live refresh) have no control to stand next to.
  if (!elt || elt === document.body || !elt.isConnected) return null;
  const form = elt.closest("form");
  const anchor = form || elt.closest("button, a, input, select, textarea, label") || null;
  return anchor && anchor.offsetParent !== null ? anchor : null;
}

function showError(elt, text) {
  const anchor = placeFor(elt);
  if (!anchor) {
    const flash = document.getElementById("flash");
    if (!flash) return;
    flash.textContent = text;
    flash.hidden = false;
    clearTimeout(flash._timer);
    flash._timer = setTimeout(() => { flash.hidden = true; }, 8000);
    return;
  }
  let note = anchor.nextElementSibling;
  if (!note || !note.classList.contains("htmx-error")) {
    note = document.createElement("p");
    note.className = "htmx-error";
    note.setAttribute("role", "alert");
    anchor.after(note);
  }
  note.textContent = text;
}

function clearError(elt) {
  const anchor = placeFor(elt);
  const note = anchor && anchor.nextElementSibling;
  if (note && note.classList.contains("htmx-error")) note.remove();
}

document.addEventListener("htmx:beforeSwap", (event) => {
  const { xhr, elt } = event.detail;
  if (xhr.status < 400) return;
  // The error handlers mark their answers: explain them, do not swap them.
  if (event.detail.shouldSwap && !xhr.getResponseHeader("X-Error-In-Place")) return;
  event.detail.shouldSwap = false;
  event.detail.isError = true; // so afterRequest does not count it a success and clear it
  // Next to the control that was used, not where the answer would have gone
  // (a button that answers into a status line elsewhere).
  showError(event.detail.requestConfig?.elt || elt, messageFrom(xhr));
});

// A new attempt takes the old message away (the control may be swapped after).
document.addEventListener("htmx:beforeRequest", (event) => clearError(event.detail.elt));

document.addEventListener("htmx:sendError", (event) => {
  showError(event.detail.elt, "The server could not be reached. Check the connection and try again.");
});

document.addEventListener("htmx:timeout", (event) => {
  showError(event.detail.elt, "The server took too long to answer. Try again.");
});
