// The create bar's aspect-ratio picks: they edit --ar in the prompt itself, so
// what is sent is always what the person sees. Without JavaScript they stay
// hidden and --ar is typed by hand.
"use strict";

(function () {
  const picks = document.querySelector(".ar-picks");
  const prompt = document.getElementById("id_prompt");
  if (!picks || !prompt) return;
  picks.hidden = false;

  const AR = /(^|\s)--(ar|aspect)\s+\S+/i;

  function current() {
    const match = prompt.value.match(/--(?:ar|aspect)\s+(\d+:\d+)/i);
    return match ? match[1] : "1:1";
  }

  function mark() {
    const ratio = current();
    picks.querySelectorAll("[data-ar]").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.ar === ratio));
    });
  }

  picks.addEventListener("click", (event) => {
    const button = event.target.closest("[data-ar]");
    if (!button) return;
    const ratio = button.dataset.ar;
    let text = prompt.value.replace(AR, "").replace(/\s+$/, "");
    if (ratio !== "1:1") text = `${text} --ar ${ratio}`.trim();
    prompt.value = text;
    prompt.dispatchEvent(new Event("input", { bubbles: true }));  // live lint and price
    mark();
    prompt.focus();
  });
  prompt.addEventListener("input", mark);
  mark();
})();

// Reference images: dropping a file on the prompt uploads it like the file
// field does; "Use as…" puts the signed URL where Midjourney expects it.
(function () {
  const prompt = document.getElementById("id_prompt");
  const file = document.getElementById("reference-file");
  if (!prompt || !file) return;

  prompt.addEventListener("dragover", (event) => {
    if (event.dataTransfer && [...event.dataTransfer.types].includes("Files")) {
      event.preventDefault();
      prompt.classList.add("dragging");
    }
  });
  prompt.addEventListener("dragleave", () => prompt.classList.remove("dragging"));
  prompt.addEventListener("drop", (event) => {
    prompt.classList.remove("dragging");
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    file.files = event.dataTransfer.files;
    file.dispatchEvent(new Event("change", { bubbles: true }));
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-ref-use]");
    if (!button) return;
    const url = document.getElementById("upload-url")?.value;
    if (!url) return;
    const use = button.dataset.refUse;
    const text = prompt.value.trim();
    if (use === "image") {
      prompt.value = `${url} ${text}`.trim();
    } else {
      const flag = `--${use}`;
      const pattern = new RegExp(`(^|\\s)${flag}\\s+\\S+`);
      prompt.value = pattern.test(text) ? text.replace(pattern, `$1${flag} ${url}`) : `${text} ${flag} ${url}`.trim();
    }
    prompt.dispatchEvent(new Event("input", { bubbles: true }));
    prompt.focus();
  });
})();
