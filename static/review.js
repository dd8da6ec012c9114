// The review form's keyboard: label hotkeys resolve, s sends back, m marks
// ambiguous, b returns to the queue (? lists the keys: static/help.js).
// Typing a note never triggers a key.
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
  let sent = false;
  form.addEventListener("submit", () => { sent = true; });  // one decision per page
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (sent) return;
    const button = byKey.get(event.key);
    if (button) { event.preventDefault(); button.click(); }
    else if (event.key === "b") {
      event.preventDefault();
      window.location.assign(document.getElementById("back-to-queue").href);
    }
  });
})();
