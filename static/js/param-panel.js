// The create bar's parameter panel: each control and its flag in the prompt
// text are kept in step both ways. Typing `--s 300` moves Stylize; moving
// Stylize rewrites that one flag and leaves the rest of the prompt as typed; a
// control back at its default takes its flag out. Ranges, defaults and help
// come from the server (data attributes, from gallery.prompt's catalog), and
// the server's linter still judges the prompt: a value it would refuse leaves
// the control where it was, marked invalid, and the lint says why.
"use strict";

(function () {
  const panel = document.getElementById("param-panel");
  const prompt = document.getElementById("id_prompt");
  if (!panel || !prompt) return;
  const speed = document.getElementById("id_speed");
  const providerField = document.getElementById("id_provider");
  const count = document.getElementById("param-count");
  panel.hidden = false;
  // Open where there is room; on a phone it starts folded under its summary.
  if (window.matchMedia("(min-width: 760px)").matches) panel.open = true;

  const params = [...panel.querySelectorAll(".param")].map((box) => ({
    box,
    control: box.dataset.control,
    flag: box.dataset.flag,
    names: box.dataset.names.split(" "),
    fallback: box.dataset.default || "",
    min: box.dataset.min === undefined ? null : Number(box.dataset.min),
    max: box.dataset.max === undefined ? null : Number(box.dataset.max),
    choices: (box.dataset.choices || "").split(" ").filter(Boolean),
    speeds: box.dataset.speeds.split(" "),
    ignoredAt: (box.dataset.ignoredAt || "").split(" ").filter(Boolean),
    ignoredBy: (box.dataset.ignoredBy || "").split(" ").filter(Boolean),
    range: box.querySelector("[data-role=range]"),
    input: box.querySelector("[data-role=value]"),
    note: box.querySelector("[data-role=note]"),
  }));

  // --- reading and writing one flag in the text --------------------------------

  function tokens(text) {
    const found = [];
    const word = /\S+/g;
    let match;
    while ((match = word.exec(text))) {
      found.push({ start: match.index, end: match.index + match[0].length, text: match[0] });
    }
    return found;
  }

  // The parameter's first flag in the text (any spelling) and the value after it.
  function locate(text, param) {
    const words = tokens(text);
    for (let i = 0; i < words.length; i += 1) {
      const name = words[i].text.startsWith("--") ? words[i].text.slice(2).toLowerCase() : null;
      if (name !== null && param.names.includes(name)) {
        const next = words[i + 1];
        const value = param.control !== "toggle" && next && !next.text.startsWith("--") ? next : null;
        return { flag: words[i], value };
      }
    }
    return null;
  }

  // What the text says for the parameter: {value} (the default when absent) or {bad: true}.
  function read(text, param) {
    const found = locate(text, param);
    if (param.control === "toggle") return { value: Boolean(found) };
    if (!found) return { value: param.fallback };
    const raw = found.value ? found.value.text : "";
    // A permutation ({a, b} braces) sets it, one job per value; the control keeps out.
    if (raw.startsWith("{")) return { permuted: true };
    if (param.control === "ratio") return /^[1-9][0-9]*:[1-9][0-9]*$/.test(raw) ? { value: raw } : { bad: true };
    if (param.control === "choice") return param.choices.includes(raw) ? { value: raw } : { bad: true };
    if (!/^[0-9]+$/.test(raw)) return { bad: true };
    const number = Number(raw);
    if (number < param.min || number > param.max) return { bad: true, shown: raw };
    return { value: String(number) };
  }

  // Set the parameter's flag to `value` ("" for a bare flag, null to take it out).
  function write(param, value) {
    const text = prompt.value;
    const found = locate(text, param);
    const piece = value === null ? "" : value === "" ? param.flag : `${param.flag} ${value}`;
    let next;
    if (found && found.value && found.value.text.startsWith("{")) return; // a permutation's
    if (found) {
      let start = found.flag.start;
      let end = found.value ? found.value.end : found.flag.end;
      if (!piece) {
        // Take one neighbouring space with it, so no double space is left behind.
        if (start > 0 && /\s/.test(text[start - 1])) start -= 1;
        else if (/\s/.test(text[end] || "")) end += 1;
      }
      next = text.slice(0, start) + piece + text.slice(end);
    } else if (piece) {
      next = !text || /\s$/.test(text) ? text + piece : `${text} ${piece}`;
    } else {
      return;
    }
    if (next === text) return;
    prompt.value = next;
    prompt.dispatchEvent(new Event("input", { bubbles: true })); // the live lint and price
  }

  // --- the controls ----------------------------------------------------------

  function show(param, state) {
    param.box.classList.toggle("param-invalid", Boolean(state.bad));
    param.box.classList.toggle("param-permuted", Boolean(state.permuted));
    if (state.permuted) return;
    const editing = (element) => element && element === document.activeElement;
    if (param.input) param.input.setAttribute("aria-invalid", String(Boolean(state.bad)));
    if (state.bad) {
      // The number box shows what was typed (the slider cannot); the lint says why it is wrong.
      if (state.shown && param.input && !editing(param.input)) param.input.value = state.shown;
      return;
    }
    if (param.control === "ratio") {
      param.box.querySelectorAll("[data-ar]").forEach((button) => {
        button.setAttribute("aria-pressed", String(button.dataset.ar === state.value));
      });
    } else if (param.control === "toggle") {
      param.input.checked = state.value;
    } else {
      if (param.range && !editing(param.range)) param.range.value = state.value || param.fallback;
      if (!editing(param.input)) param.input.value = state.value;
    }
  }

  function fromText() {
    let set = 0;
    params.forEach((param) => {
      show(param, read(prompt.value, param));
      if (locate(prompt.value, param)) set += 1;
    });
    if (count) count.textContent = set ? `· ${set} set` : "";
  }

  // A control's value as the flag it asks for: null (take it out) at the default.
  function chosen(param, value) {
    if (param.control === "toggle") return value ? "" : null;
    return value === "" || value === param.fallback ? null : value;
  }

  function valid(param, value) {
    if (value === "") return true;
    if (!/^[0-9]+$/.test(value)) return false;
    const number = Number(value);
    return number >= param.min && number <= param.max;
  }

  params.forEach((param) => {
    if (param.control === "ratio") {
      param.box.addEventListener("click", (event) => {
        const button = event.target.closest("[data-ar]");
        if (!button) return;
        write(param, chosen(param, button.dataset.ar));
        fromText();
      });
      return;
    }
    if (param.range) {
      param.range.addEventListener("input", () => {
        param.input.value = param.range.value;
        write(param, chosen(param, param.range.value));
      });
    }
    param.input.addEventListener(param.control === "toggle" || param.control === "choice" ? "change" : "input", () => {
      const value = param.control === "toggle" ? param.input.checked : param.input.value.trim();
      if (param.control !== "toggle" && param.control !== "choice" && !valid(param, value)) {
        param.input.setAttribute("aria-invalid", "true");
        return; // the box keeps what was typed; the prompt keeps its last good value
      }
      if (param.range && value !== "") param.range.value = value;
      write(param, chosen(param, value));
    });
  });

  // What the chosen speed and provider allow: a parameter that does not work
  // at the speed is switched off, one that does nothing there says so.
  function forSettings() {
    const now = speed ? speed.value : "fast";
    const provider = providerField ? providerField.value : panel.dataset.provider;
    const providerName = providerField?.selectedOptions[0]?.textContent || panel.dataset.providerName;
    params.forEach((param) => {
      const off = !param.speeds.includes(now);
      param.box.classList.toggle("param-off", off);
      param.box.querySelectorAll("input, select, button").forEach((element) => {
        element.disabled = off;
      });
      let note = "";
      if (off) note = ` Not at ${now} speed.`;
      else if (param.ignoredAt.includes(now)) note = ` No effect at ${now} speed.`;
      else if (param.ignoredBy.includes(provider)) note = ` ${providerName} may ignore it.`;
      param.note.textContent = note;
    });
  }

  prompt.addEventListener("input", fromText);
  if (speed) speed.addEventListener("change", forSettings);
  if (providerField) providerField.addEventListener("change", forSettings);
  // Filled by "Use again" (?prompt=) or the history menu: the panel follows.
  document.addEventListener("prompt-filled", fromText);
  fromText();
  forSettings();
})();
