// The review form's keyboard: label hotkeys resolve, s sends back, m marks
// ambiguous, b returns to the queue (? lists the keys: static/help.js).
// A kind's control (templates/review/controls/) may instead mark checkboxes with
// data-toggle-key (the key checks or unchecks them; their hotkeys win over
// buttons'). Typing a note never triggers a key.
"use strict";

(() => {
  const form = document.getElementById("decide");
  if (!form) return;
  const byKey = new Map();
  form.querySelectorAll("button[data-hotkey]").forEach((button) => {
    // A label's own hotkey wins over an action's (labels come first in the form).
    const key = button.dataset.hotkey;
    if (key && !byKey.has(key)) byKey.set(key, button);
  });
  const toggles = new Map();
  form.querySelectorAll("input[data-toggle-key]").forEach((box) => {
    const key = box.dataset.toggleKey;
    if (key && !toggles.has(key)) toggles.set(key, box);
  });
  let sent = false;
  form.addEventListener("submit", () => { sent = true; });  // one decision per page
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const choosing = target.tagName === "INPUT" && ["checkbox", "radio"].includes(target.type);
    if (["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) && !choosing) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if (sent) return;
    const box = toggles.get(event.key);
    if (box) { event.preventDefault(); box.checked = !box.checked; return; }
    const button = byKey.get(event.key);
    if (button) { event.preventDefault(); button.click(); }
    else if (event.key === "b") {
      event.preventDefault();
      window.location.assign(document.getElementById("back-to-queue").href);
    }
  });
})();
