"use strict";

// One press, one job. A form that makes jobs (the create bar, the image page's
// edit forms) carries a one-time request id ([data-request-id]); the server
// makes one job per id and answers a repeat with the job already made
// (pipeline.create). While the form's request is in flight its submit buttons
// are off, so a double click sends once. After a job is made the id is kept a
// moment: a slow double click whose second press lands after the (fast)
// answer is still the same job. The id is renewed when the form changes
// (prompt, parameters, chips, speed) or HOLD_MS later, so a deliberate second
// press is a new job.
(() => {
  const HOLD_MS = 1000;

  function guarded(elt) {
    return elt instanceof HTMLFormElement && elt.querySelector("[data-request-id]") ? elt : null;
  }

  function isPost(event) {
    return (event.detail.requestConfig?.verb || "").toLowerCase() === "post";
  }

  function renew(form) {
    window.clearTimeout(Number(form.dataset.renewTimer || 0));
    delete form.dataset.renewTimer;
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    const id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    form.querySelectorAll("[data-request-id]").forEach((field) => {
      field.value = id;
    });
  }

  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = guarded(event.detail.elt);
    if (!form || !isPost(event)) return;
    // Only buttons that were on: one a rule turned off stays off afterwards.
    form.querySelectorAll("button[type=submit]:not(:disabled)").forEach((button) => {
      button.disabled = true;
      button.dataset.inFlight = "";
    });
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    const form = guarded(event.detail.elt);
    if (!form || !isPost(event)) return;
    form.querySelectorAll("button[data-in-flight]").forEach((button) => {
      button.disabled = false;
      delete button.dataset.inFlight;
    });
    if (event.detail.xhr?.status !== 200) return; // refused: nothing was made, the id is unused
    if (!form.dataset.renewTimer) {
      form.dataset.renewTimer = String(window.setTimeout(() => renew(form), HOLD_MS));
    }
  });

  // A change to what is asked makes the next press a new request at once.
  ["input", "change"].forEach((type) => {
    document.addEventListener(type, (event) => {
      const form = event.target.closest?.("form");
      if (form && form.dataset.renewTimer && guarded(form)) renew(form);
    });
  });
})();
