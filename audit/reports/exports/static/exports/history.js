// The Export tab's history: unfinished jobs follow their progress through the export API
// (the same permission checks) and show the download link when the file is ready.
const FINISHED = new Set(["succeeded", "failed", "expired"]);
// Messages come from the page's script catalogue (jsi18n), English without it.
const gettext = window.gettext || ((text) => text);
const LABELS = {
  queued: gettext("Queued"),
  running: gettext("Running"),
  succeeded: gettext("Succeeded"),
  failed: gettext("Failed"),
  expired: gettext("Expired"),
};

function size(bytes) {
  const units = ["bytes", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit ? `${value.toFixed(1)} ${units[unit]}` : `${value} bytes`;
}

function show(row, job) {
  row.dataset.status = job.status;
  const status = row.querySelector(".job-status");
  status.replaceChildren();
  if (!FINISHED.has(job.status)) {
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = job.progress;
    status.append(bar, " ");
  }
  const text = document.createElement("span");
  text.className = "status-text";
  text.textContent = LABELS[job.status] || job.status;
  status.append(text);
  if (job.error) {
    const error = document.createElement("span");
    error.className = "error";
    error.textContent = job.error;
    status.append(" ", error);
  }
  if (job.status === "succeeded") {
    row.querySelector(".job-rows").textContent = job.row_count;
    row.querySelector(".job-size").textContent = size(job.size_bytes);
    const link = document.createElement("a");
    link.href = `/exports/${job.id}/download/`;
    link.download = "";
    link.textContent = gettext("Download");
    row.querySelector(".job-file").replaceChildren(link);
  }
}

async function follow(row) {
  let wait = 700;
  while (!FINISHED.has(row.dataset.status)) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 1.3, 5000);
    try {
      const response = await fetch(`/api/exports/${row.dataset.job}/`, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      show(row, await response.json());
    } catch {
      // The network dropped: try again at the next tick.
    }
  }
}

for (const row of document.querySelectorAll("tr[data-job]")) {
  if (!FINISHED.has(row.dataset.status)) follow(row);
}
