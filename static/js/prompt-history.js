// The prompt box's keyboard and memory. Enter generates and Shift+Enter starts
// a new line (never while an input method is composing a character). ↑ in an
// empty box brings back the member's latest prompt, and ↑/↓ step through the
// older ones while the box still holds one of them. The History menu lists the
// last 50 different prompts of their own, searchable; choosing one fills the
// box. The list comes from the server (/t/<team>/prompts/), which only ever
// lists the member's own jobs.
"use strict";

(function () {
  const prompt = document.getElementById("id_prompt");
  const form = document.getElementById("create-bar");
  const button = document.getElementById("history-button");
  const pop = document.getElementById("history-pop");
  const search = document.getElementById("history-search");
  const results = document.getElementById("history-results");
  if (!prompt || !form) return;

  function fill(text) {
    prompt.value = text;
    prompt.dispatchEvent(new Event("input", { bubbles: true })); // the live lint and price
    document.dispatchEvent(new CustomEvent("prompt-filled"));
    prompt.focus();
    prompt.setSelectionRange(prompt.value.length, prompt.value.length);
  }

  // --- Enter generates ---------------------------------------------------------

  function generate() {
    const submit = form.querySelector("#prompt-check button[type=submit]");
    if (!submit || submit.disabled) return; // the check found a problem: it is shown
    form.requestSubmit(submit);
  }

  // --- the member's prompts, newest first -------------------------------------

  let recent = null; // the prompts, fetched when first needed
  let step = -1; // which of them the box holds, while it holds one

  async function load(query) {
    const url = new URL(button.href, window.location.href);
    if (query) url.searchParams.set("q", query);
    const response = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(`history: ${response.status}`);
    return response.text();
  }

  function promptsIn(html) {
    const list = new DOMParser().parseFromString(html, "text/html");
    return [...list.querySelectorAll("[data-prompt]")].map((item) => item.dataset.prompt);
  }

  async function recall(older) {
    if (recent === null) {
      try {
        recent = promptsIn(await load(""));
      } catch (error) {
        return;
      }
    }
    const next = step + (older ? 1 : -1);
    if (next < 0) {
      step = -1;
      fill("");
      return;
    }
    if (next >= recent.length) return;
    step = next;
    fill(recent[step]);
  }

  prompt.addEventListener("keydown", (event) => {
    // 229: the key went to an input method (Safari reports isComposing late).
    if (event.isComposing || event.keyCode === 229) return;
    if (event.key === "Enter" && !event.shiftKey && !event.altKey) {
      event.preventDefault();
      generate();
      return;
    }
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    if (event.shiftKey || event.altKey || event.ctrlKey || event.metaKey) return;
    // Still the recalled prompt until the person edits it (the reference chips
    // and the parameter panel may rewrite its text, as scripts, meanwhile).
    const holdsRecalled = recent !== null && step >= 0;
    const empty = prompt.value.trim() === "";
    if (event.key === "ArrowUp" && (empty || holdsRecalled)) {
      event.preventDefault();
      if (empty) step = -1;
      recall(true);
    } else if (event.key === "ArrowDown" && holdsRecalled) {
      event.preventDefault();
      recall(false);
    }
  });
  // Any edit by the person (the text, a parameter control, a reference's
  // role or weight) makes the box theirs: ↑ and ↓ move the cursor again.
  for (const kind of ["input", "change"]) {
    form.addEventListener(kind, (event) => {
      if (event.isTrusted && event.target !== search) step = -1;
    });
  }
  // A new job is a new latest prompt: ask again next time.
  form.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.elt !== form) return; // a live check, not a Generate
    recent = null;
    step = -1;
  });

  // --- the History menu --------------------------------------------------------

  if (!button || !pop || !search || !results) return;
  button.setAttribute("role", "button");
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-haspopup", "dialog");
  let typing = null;

  async function show(query) {
    try {
      results.innerHTML = await load(query);
    } catch (error) {
      results.textContent = "The history could not be loaded; try again.";
    }
  }

  function open() {
    pop.hidden = false;
    button.setAttribute("aria-expanded", "true");
    search.value = "";
    show("");
    search.focus();
  }

  function close(refocus) {
    pop.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (refocus) button.focus();
  }

  button.addEventListener("click", (event) => {
    event.preventDefault();
    if (pop.hidden) open();
    else close(true);
  });
  button.addEventListener("keydown", (event) => {
    if (event.key === " ") {
      event.preventDefault();
      button.click();
    }
  });
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => show(search.value.trim()), 250);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault(); // inside the create form: never a Generate
      clearTimeout(typing);
      show(search.value.trim());
    } else if (event.key === "ArrowDown") {
      event.preventDefault();
      results.querySelector("[data-prompt]")?.focus();
    }
  });
  pop.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close(true);
      return;
    }
    const items = [...results.querySelectorAll("[data-prompt]")];
    const at = items.indexOf(document.activeElement);
    if (at < 0) return;
    if (event.key === "ArrowDown" && at + 1 < items.length) {
      event.preventDefault();
      items[at + 1].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      (at > 0 ? items[at - 1] : search).focus();
    }
  });
  results.addEventListener("click", (event) => {
    const item = event.target.closest("[data-prompt]");
    if (!item) return;
    event.preventDefault();
    close(false);
    fill(item.dataset.prompt);
  });
  document.addEventListener("click", (event) => {
    if (!pop.hidden && !event.target.closest("#history-menu")) close(false);
  });
})();
