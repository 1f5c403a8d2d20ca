"use strict";

// Reference images as chips. A file chosen or dropped on the prompt is
// uploaded (gallery.views.create.upload_reference) and comes back as a chip;
// image URLs pasted or dropped into the prompt, and --sref/--oref with their
// URLs and weights, move out of the text into chips, so the text stays
// readable. Each chip sends "<role> <url>" as `ref` and each role's group its
// weight; the server puts them where Midjourney expects them
// (CreateForm.composed_prompt) and its linter judges the whole, in the live
// check as in Generate. The roles and flags come from the page
// (gallery.prompt.REFERENCE_ROLES), not from this file.
(function () {
  const prompt = document.getElementById("id_prompt");
  const file = document.getElementById("reference-file");
  const area = document.getElementById("ref-chips");
  const template = document.getElementById("ref-chip-template");
  if (!prompt || !area || !template) return;

  const groups = {};
  const byFlag = {}; // "--sref" → "sref": the flags whose values are URLs
  const byWeight = {}; // "--iw" → "image"
  area.querySelectorAll(".ref-group").forEach((group) => {
    const role = group.dataset.role;
    groups[role] = group;
    if (group.dataset.flag) byFlag[group.dataset.flag] = role;
    byWeight[group.dataset.weightFlag] = role;
  });
  const imageRole = Object.keys(groups).find((role) => !groups[role].dataset.flag);
  const isUrl = (word) => /^https?:\/\/\S+$/i.test(word);

  const chipsOf = (role) => [...groups[role].querySelectorAll(".ref-chip")];
  const weightOf = (role) => groups[role].querySelector("input[type=number]");

  // The live check (hx-trigger "input" on .create-inputs) runs again, on the composed prompt.
  function changed() {
    document.querySelector(".upload-done")?.remove(); // "added as an image prompt" may no longer be so
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Show the groups that have chips and name every chip by its role and place.
  function refresh() {
    let any = false;
    Object.keys(groups).forEach((role) => {
      const chips = chipsOf(role);
      groups[role].hidden = chips.length === 0;
      weightOf(role).disabled = chips.length === 0; // a role without chips sends no weight
      any = any || chips.length > 0;
      chips.forEach((chip, index) => {
        const name = `${groups[role].dataset.label} ${index + 1}`;
        // The thumbnail, or the host standing in for it, is one image named by role, place and host.
        chip.querySelector(".ref-thumb").setAttribute("aria-label", `${name}, ${chip.dataset.host}`);
        chip.querySelector("[data-chip=role]").setAttribute("aria-label", `Role of ${name}`);
        chip.querySelector("[data-chip=left]").setAttribute("aria-label", `Move ${name} left`);
        chip.querySelector("[data-chip=right]").setAttribute("aria-label", `Move ${name} right`);
        chip.querySelector("[data-chip=remove]").setAttribute("aria-label", `Remove ${name}`);
        chip.querySelector("[data-chip=paint]").setAttribute("aria-label", `Upload & paint ${name}`);
        chip.querySelector("[data-chip=left]").disabled = index === 0;
        chip.querySelector("[data-chip=right]").disabled = index === chips.length - 1;
      });
    });
    area.hidden = !any;
  }

  function place(chip, role) {
    chip.dataset.role = role;
    chip.querySelector("input[name=ref]").value = `${role} ${chip.dataset.url}`;
    chip.querySelector("[data-chip=role]").value = role;
    groups[role].querySelector(".ref-list").append(chip);
  }

  // `uploaded`: the member's own upload, which Upload & paint can start from.
  function add(role, url, uploaded = false) {
    if (!groups[role] || chipsOf(role).some((chip) => chip.dataset.url === url)) return;
    const chip = template.content.firstElementChild.cloneNode(true);
    chip.dataset.url = url;
    if (uploaded && area.dataset.paintUrl) {
      const paint = chip.querySelector("[data-chip=paint]");
      paint.href = `${area.dataset.paintUrl}?${new URLSearchParams({ src: url })}`;
      paint.hidden = false;
    }
    chip.title = url;
    let host = "";
    try {
      const parsed = new URL(url);
      host = parsed.hostname;
      // Only this site's images are shown (the CSP allows no other); others show their host.
      if (parsed.origin === window.location.origin) {
        const img = chip.querySelector("img");
        img.addEventListener("error", () => chip.classList.add("no-thumb"), { once: true });
        img.src = url;
      } else {
        chip.classList.add("no-thumb");
      }
    } catch (error) {
      chip.classList.add("no-thumb");
    }
    chip.dataset.host = host || "link";
    chip.querySelector(".ref-host").textContent = chip.dataset.host;
    place(chip, role);
  }

  function clear() {
    area.querySelectorAll(".ref-chip").forEach((chip) => chip.remove());
    Object.keys(groups).forEach((role) => {
      weightOf(role).value = "";
    });
  }

  // --- references out of the prompt text ---------------------------------------

  function words(text) {
    const found = [];
    const pattern = /\S+/g;
    let match;
    while ((match = pattern.exec(text))) {
      found.push({ start: match.index, end: match.index + match[0].length, text: match[0] });
    }
    return found;
  }

  // Moves the leading image URLs, --sref and --oref with their URLs, and the
  // weights of roles that have chips, out of the text. A group that does not
  // read cleanly (a style code, a ::weight, two --oref URLs) stays in the
  // text, where the linter explains it.
  function extract() {
    const text = prompt.value;
    const tokens = words(text);
    const cut = [];
    const found = [];
    const weights = [];
    let index = 0;
    while (index < tokens.length && isUrl(tokens[index].text) && imageRole) {
      found.push([imageRole, tokens[index].text]);
      cut.push(tokens[index]);
      index += 1;
    }
    while (index < tokens.length) {
      const flag = tokens[index];
      index += 1;
      const values = [];
      while (index < tokens.length && !tokens[index].text.startsWith("--")) {
        values.push(tokens[index]);
        index += 1;
      }
      const name = flag.text.toLowerCase();
      const role = flag.text.startsWith("--") ? byFlag[name] : undefined;
      const plain = values.length > 0 && values.every((v) => isUrl(v.text) && !v.text.includes("::"));
      if (role && plain && (groups[role].dataset.flag !== "--oref" || values.length === 1)) {
        values.forEach((value) => found.push([role, value.text]));
        cut.push(flag, ...values);
      } else if (byWeight[name] && values.length === 1) {
        weights.push({ role: byWeight[name], value: values[0].text, tokens: [flag, values[0]] });
      }
    }
    const roles = new Set(found.map(([role]) => role));
    weights.forEach((weight) => {
      if (roles.has(weight.role) || chipsOf(weight.role).length) {
        weightOf(weight.role).value = weight.value;
        cut.push(...weight.tokens);
      }
    });
    if (!cut.length) return;
    found.forEach(([role, url]) => {
      if (role === "oref") chipsOf(role).forEach((chip) => chip.remove()); // one at a time
      add(role, url);
    });
    cut.sort((a, b) => b.start - a.start);
    let rest = text;
    cut.forEach((token) => {
      rest = rest.slice(0, token.start) + rest.slice(token.end);
    });
    prompt.value = rest.replace(/[ \t]{2,}/g, " ").replace(/^\s+|\s+$/g, "");
    refresh();
    prompt.dispatchEvent(new Event("input", { bubbles: true })); // the panel and the check
  }

  prompt.addEventListener("input", (event) => {
    if (event.inputType === "insertFromPaste" || event.inputType === "insertFromDrop") extract();
  });
  // A recalled prompt ("Use again", the history) replaces the references too.
  document.addEventListener("prompt-filled", () => {
    clear();
    extract();
    refresh();
  });

  // --- the chips' own controls ---------------------------------------------------

  area.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-chip]");
    if (!button) return;
    const chip = button.closest(".ref-chip");
    const action = button.dataset.chip;
    if (action === "remove") {
      // The focus goes to the next chip (or the one before, in any group), else the prompt.
      const all = [...area.querySelectorAll(".ref-chip")];
      const at = all.indexOf(chip);
      const next = all[at + 1] || all[at - 1];
      chip.remove();
      refresh();
      (next ? next.querySelector("[data-chip=remove]") : prompt).focus();
    } else {
      if (action === "left" && chip.previousElementSibling) chip.previousElementSibling.before(chip);
      if (action === "right" && chip.nextElementSibling) chip.nextElementSibling.after(chip);
      refresh();
      // At the end of the row the button is off: the other one keeps the focus.
      const other = chip.querySelector(`[data-chip=${action === "left" ? "right" : "left"}]`);
      (button.disabled ? other : button).focus();
    }
    changed();
  });
  area.addEventListener("change", (event) => {
    const select = event.target.closest("[data-chip=role]");
    if (!select) return;
    place(select.closest(".ref-chip"), select.value);
    refresh();
    select.focus();
    changed();
  });

  // --- uploads -------------------------------------------------------------------

  document.addEventListener("htmx:load", (event) => {
    const result = event.target;
    if (result.id !== "upload-result" || !result.dataset.uploadUrl) return;
    add(imageRole, result.dataset.uploadUrl, true);
    refresh();
    if (file) file.value = ""; // the same file can be chosen again
    area.dispatchEvent(new Event("input", { bubbles: true }));
  });

  prompt.addEventListener("dragover", (event) => {
    if (event.dataTransfer && [...event.dataTransfer.types].includes("Files")) {
      event.preventDefault();
      prompt.classList.add("dragging");
    }
  });
  prompt.addEventListener("dragleave", () => prompt.classList.remove("dragging"));
  prompt.addEventListener("drop", (event) => {
    prompt.classList.remove("dragging");
    if (!file || !event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    file.files = event.dataTransfer.files;
    file.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // "Use again" opens the page with the prompt filled in.
  if (prompt.value.trim()) extract();
  refresh();
})();
