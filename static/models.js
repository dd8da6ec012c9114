// Model page: follow running training jobs through GET /api/v1/jobs/<id>, then reload
// once a job ends so the new version, its curve and its errors appear.
"use strict";

(function () {
  const POLL_MS = 1500;
  const rows = Array.from(document.querySelectorAll("tr.job"))
    .filter((row) => row.dataset.status === "queued" || row.dataset.status === "running");
  if (rows.length === 0) return;

  function show(row, job) {
    row.dataset.status = job.status;
    const badge = row.querySelector(".job-status .badge");
    badge.textContent = job.status;
    badge.className = "badge status-" + job.status;
    row.querySelector(".job-progress").value = job.progress;
    const message = row.querySelector(".job-message");
    message.textContent = job.error || job.message || "";
    message.classList.toggle("error-text", Boolean(job.error));
  }

  async function poll(row) {
    try {
      const response = await fetch(row.dataset.jobUrl, {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (!response.ok) return;  // try again on the next tick
      const job = await response.json();
      show(row, job);
      if (job.status === "done" || job.status === "failed") {
        window.location.reload();
        return;
      }
    } catch (error) {
      // the server may be restarting; keep polling
    }
    window.setTimeout(() => poll(row), POLL_MS);
  }

  rows.forEach((row) => window.setTimeout(() => poll(row), POLL_MS));
})();
