// Small behaviours shared by every page; no inline script, so a strict CSP holds.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  const busy = form.dataset.progress;
  if (busy) {
    const note = document.createElement("p");
    note.className = "flash flash-info";
    note.setAttribute("role", "status");
    const bar = document.createElement("progress");
    note.append(bar, " ", busy);
    form.append(note);
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  }
});
