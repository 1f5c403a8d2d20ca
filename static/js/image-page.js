// The image page: ←/→ go to the previous/next image (the page's rel="prev" /
// rel="next" links, which work without this file), Esc back to the gallery
// (its link), a click or Enter/Space on the image shows it at 100% and back
// (without this file the same link opens the original), "Copy" puts the
// prompt on the clipboard. An edit form's request id is renewed by
// request-guard.js.
"use strict";

(() => {
  function typing(target) {
    return Boolean(target.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])"));
  }

  function drawing() {
    // A drawing tool is active: leaving now would throw the marked areas away.
    return Boolean(document.querySelector("svg.is-drawing"));
  }

  function openMenu() {
    // Only the header's menus: an open <details> of a form is no reason to stay.
    return Boolean(document.querySelector("details.menu[open]"));
  }

  // app.js closes an open menu on Esc before the handler below runs: note
  // first (capture phase) whether one was open, so that Esc only closes it.
  let menuWasOpen = false;
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") menuWasOpen = openMenu();
  }, true);

  // --- 100%: the stage scrolls when the image is bigger than the screen ---
  function setActual(stage, on) {
    stage.classList.toggle("is-actual", on);
    const link = stage.querySelector("[data-stage-toggle]");
    if (link) link.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function toggleActual(link) {
    const stage = link.closest(".stage");
    if (!stage || drawing()) return;
    setActual(stage, !stage.classList.contains("is-actual"));
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-stage-toggle]");
    if (link) {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      event.preventDefault(); // a plain click toggles; a modified one still opens the file
      toggleActual(link);
      return;
    }
    // Picking a mask tool: the mask lies over the fitted image, so fit it first.
    if (event.target.closest("[data-tool]")) {
      document.querySelectorAll(".stage.is-actual").forEach((stage) => setActual(stage, false));
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    // Space on the image toggles it as on a button (Enter is the link's own click).
    if (event.key === " " && event.target.closest && event.target.closest("[data-stage-toggle]")) {
      event.preventDefault();
      toggleActual(event.target.closest("[data-stage-toggle]"));
      return;
    }
    if (!["ArrowLeft", "ArrowRight", "Escape"].includes(event.key)) return;
    if (typing(event.target) || drawing()) return;
    if (event.key === "Escape") {
      if (menuWasOpen) return;
      const actual = document.querySelector(".stage.is-actual");
      if (actual) {
        setActual(actual, false);
        return;
      }
    }
    const selector = {
      ArrowLeft: 'a[rel~="prev"]',
      ArrowRight: 'a[rel~="next"]',
      Escape: "a[data-gallery-link]",
    }[event.key];
    const link = document.querySelector(selector);
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

  function start() {
    document.querySelectorAll("[data-stage-toggle]").forEach((link) => {
      link.setAttribute("role", "button");
      link.setAttribute("aria-pressed", "false");
    });
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
