// The image page's editors (Vary region's mask, Edit's canvas) as full-screen
// dialogs. Without JavaScript each <dialog data-editor> is rendered open, as a
// plain part of its form; here it closes and opens as a modal from the button
// [data-editor-open] naming it. Cancel and Esc put back what was there when it
// opened, Apply keeps the changes; either way focus returns to the opener.
// A form whose editor breaks one of the catalog's rules (canvas-editor.js names
// them) is not sent: the rule appears where the server's refusal would.
"use strict";

(() => {
  const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

  class EditorDialog {
    constructor(dialog) {
      this.dialog = dialog;
      this.form = dialog.closest("form");
      this.opener = this.form.querySelector(`[data-editor-open="${dialog.id}"]`);
      this.summary = this.form.querySelector("[data-editor-summary]");
      this.saved = null;
      this.escapedAt = -Infinity;
      dialog.close();
      dialog.querySelectorAll("[data-js-only]").forEach((node) => { node.hidden = false; });
      this.opener?.closest("[data-js-only]")?.removeAttribute("hidden");
      this.opener?.addEventListener("click", () => this.open());
      dialog.querySelector("[data-editor-cancel]")?.addEventListener("click", () => this.cancel());
      dialog.querySelector("[data-editor-apply]")?.addEventListener("click", () => this.finish());
      dialog.addEventListener("keydown", (event) => this.onKey(event));
      // Esc is handled on keydown; any other way of dismissing (a phone's back
      // gesture) arrives as cancel, and counts as Cancel.
      dialog.addEventListener("cancel", (event) => {
        event.preventDefault();
        if (event.timeStamp - this.escapedAt > 200) this.cancel();
      });
      dialog.addEventListener("close", () => {
        if (this.saved) this.cancel(); // closed by the browser itself
      });
      this.summarise();
      // Upload & paint has nothing to show but its editor: it opens at once.
      // Not before the "close" event of the close() above, which the browser
      // sends later: arriving after the open, it would count as a dismissal.
      if (dialog.hasAttribute("data-open-at-start")) {
        dialog.addEventListener("close", () => window.setTimeout(() => this.open(), 0), { once: true });
      }
    }

    editors() {
      return [this.form.canvasEditor, this.form.maskEditor].filter(Boolean);
    }

    open() {
      this.saved = this.editors().map((editor) => [editor, editor.snapshot()]);
      this.dialog.showModal();
      this.form.dispatchEvent(new CustomEvent("editor-open"));
      (this.dialog.querySelector("button[data-tool]") || this.dialog.querySelector("button"))?.focus();
    }

    // Tab and Shift+Tab go round the editor's own controls, never behind it
    // (the page is inert under a modal, but the browser's own bar is not).
    focusables() {
      const selector = "button, input, select, textarea, summary, a[href], [tabindex]:not([tabindex='-1'])";
      return Array.from(this.dialog.querySelectorAll(selector)).filter(
        // checkVisibility: a closed <details> hides its content without display: none.
        (node) => !node.disabled && (node.checkVisibility ? node.checkVisibility({ visibilityProperty: true }) : node.getClientRects().length > 0),
      );
    }

    trapTab(event) {
      const nodes = this.focusables();
      if (!nodes.length) return;
      const first = nodes[0];
      const last = nodes[nodes.length - 1];
      const inside = this.dialog.contains(document.activeElement);
      if (event.shiftKey && (document.activeElement === first || !inside)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
        event.preventDefault();
        first.focus();
      }
    }

    onKey(event) {
      if (event.key === "Tab") {
        this.trapTab(event);
        return;
      }
      if (event.key !== "Escape") return;
      // Not the page's Esc (back to the gallery): only the editor's.
      event.stopPropagation();
      event.preventDefault();
      this.escapedAt = event.timeStamp;
      const mask = this.form.maskEditor;
      if (mask?.draft) mask.cancelDraft(); // Esc first drops a polygon being drawn
      else this.cancel();
    }

    cancel() {
      for (const [editor, state] of this.saved || []) editor.restore(state);
      this.close();
    }

    finish() {
      this.close();
      // A refusal of the editor's state goes once the state is right again.
      if (!(this.form.canvasEditor?.rules() ?? []).length) {
        this.form.querySelector("[data-editor-refusal]")?.remove();
      }
      // The live price and the server's check see what the editor now holds
      // (a marked area changes no field they listen to).
      const field = this.form.querySelector("[hx-trigger] input:not([type=hidden]), [hx-trigger] textarea");
      field?.dispatchEvent(new Event("input", { bubbles: true }));
    }

    close() {
      this.saved = null;
      const mask = this.form.maskEditor;
      const move = this.dialog.querySelector('button[data-tool="move"]');
      if (move) move.click();
      else mask?.setTool(null);
      if (this.dialog.open) this.dialog.close();
      this.summarise();
      this.opener?.focus();
    }

    summarise() {
      if (!this.summary) return;
      const parts = [];
      const canvas = this.form.canvasEditor;
      if (canvas) {
        const { canvas: c, img } = canvas.state;
        parts.push(`Canvas ${c.width} × ${c.height}, image ${img.width} × ${img.height} at ${img.x}, ${img.y}.`);
      }
      const areas = this.form.maskEditor?.areas.length ?? 0;
      if (areas) parts.push(`${plural(areas, "area")} marked.`);
      else if (!canvas) parts.push("No area marked yet.");
      this.summary.textContent = parts.join(" ");
    }
  }

  // Before htmx (or the browser) sends the form: the catalog's rules, in place.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const problems = form.canvasEditor?.rules() ?? [];
    if (!problems.length) return;
    event.preventDefault();
    event.stopPropagation();
    const slot = form.querySelector(".op-result");
    if (!slot) return;
    // The server's live check may name the same rule already: say it once.
    const shown = new Set(Array.from(form.querySelectorAll(".lint li"), (item) => item.textContent.trim()));
    const fresh = problems.filter((text) => !shown.has(text));
    const line = document.createElement("p");
    line.className = "form-error";
    line.dataset.editorRefusal = "";
    line.setAttribute("role", "alert");
    line.textContent = `Not sent, nothing charged: ${fresh.length ? fresh.join("; ") : "correct the problem named above"}.`;
    slot.replaceChildren(line);
  }, true);

  function start() {
    document.querySelectorAll("dialog[data-editor]").forEach((dialog) => {
      if (!dialog.editorDialog && dialog.closest("form")) dialog.editorDialog = new EditorDialog(dialog);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
