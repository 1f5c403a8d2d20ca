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
