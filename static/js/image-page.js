// The image page: ←/→ go to the previous/next image (the page's rel="prev" /
// rel="next" links, which work without this file), "Copy" puts the prompt on
// the clipboard, and an edit form gets a fresh request id after each job.
"use strict";

(() => {
  function typing(target) {
    return Boolean(target.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])"));
  }

  document.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (typing(event.target)) return;
    // A drawing tool is active: leaving now would throw the marked areas away.
    if (document.querySelector("svg.is-drawing")) return;
    const link = document.querySelector(event.key === "ArrowLeft" ? 'a[rel~="prev"]' : 'a[rel~="next"]');
    if (!link) return;
    event.preventDefault();
    window.location.assign(link.href);
  });

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // No clipboard API (plain http on a LAN): copy through a selection.
      const scratch = document.createElement("textarea");
      scratch.value = text;
      scratch.setAttribute("readonly", "");
      scratch.className = "visually-hidden";
      document.body.append(scratch);
      scratch.select();
      const done = document.execCommand("copy");
      scratch.remove();
      return done;
    }
  }

  // An edit form carries a one-time id, so a double click makes one job. Once
  // a job is made, the next press of the same form is a new request.
  document.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt;
    if (!(form instanceof HTMLFormElement) || !event.detail.successful) return;
    const field = form.querySelector("[data-request-id]");
    if (!field) return;
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    field.value = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  });

  function start() {
    document.querySelectorAll("[data-copy-from]").forEach((button) => {
      button.hidden = false;
      const label = button.textContent;
      button.addEventListener("click", async () => {
        const source = document.getElementById(button.dataset.copyFrom);
        if (!source) return;
        const done = await copy(source.textContent.trim());
        button.textContent = done ? "Copied" : "Select and copy";
        window.setTimeout(() => { button.textContent = label; }, 2000);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
