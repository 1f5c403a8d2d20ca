"use strict";

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
