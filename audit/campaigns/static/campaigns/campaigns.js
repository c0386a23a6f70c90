// The owner's pages: ask before irreversible steps (launch, close), and follow a running campaign
// job (launch, reassignment) until it ends, then reload into the new state. No inline JS anywhere.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : null;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

(() => {
  const box = document.getElementById("job-progress");
  if (!box || !box.dataset.jobUrl) {
    return;
  }
  const POLL_MS = 1000;
  // Messages come from the page's script catalogue (jsi18n), English without it.
  const gettext = window.gettext || ((text) => text);
  const stages = document.getElementById("job-stages");
  const bar = document.getElementById("job-bar");
  const counts = document.getElementById("job-counts");
  const number = new Intl.NumberFormat();

  function show(job) {
    box.dataset.jobStatus = job.status;
    box.dataset.jobStage = job.stage || "";
    for (const stage of job.stages) {
      const item = stages.querySelector(`li[data-stage="${stage.key}"]`);
      if (item) {
        item.className = `stage-${stage.state}`;
      }
    }
    if (job.total) {
      bar.max = job.total;
      bar.value = job.done || 0;
      counts.textContent = gettext("%(stage)s: %(done)s of %(total)s")
        .replace("%(stage)s", job.stage_label)
        .replace("%(done)s", number.format(job.done || 0))
        .replace("%(total)s", number.format(job.total));
    } else {
      bar.removeAttribute("value"); // indeterminate while a stage has no count
      counts.textContent = job.stage_label || "";
    }
  }

  async function poll() {
    try {
      const response = await fetch(box.dataset.jobUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.ok) {
        const job = await response.json();
        if (job.status === "succeeded" || job.status === "failed") {
          window.location.reload();
          return;
        }
        show(job);
      }
    } catch (error) {
      // A dropped connection: try again at the next tick.
    }
    window.setTimeout(poll, POLL_MS);
  }
  window.setTimeout(poll, POLL_MS);
})();
