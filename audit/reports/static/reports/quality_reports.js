// After "Make a report now": wait for the report to be made (through the quality-reports API,
// the same permission checks), then show it by reloading the history.
// Messages come from the page's script catalogue (jsi18n), English without it.
const gettext = window.gettext || ((text) => text);
const history = document.querySelector("#reports[data-waiting-after]");

async function waitForReport() {
  const after = Number(history.dataset.waitingAfter);
  const note = document.createElement("p");
  note.className = "note waiting";
  note.textContent = gettext("Making the report…");
  history.querySelector("h2").after(note);
  const deadline = Date.now() + 10 * 60 * 1000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    try {
      const response = await fetch(history.dataset.api, { headers: { Accept: "application/json" } });
      if (!response.ok) break;
      const reports = await response.json();
      if (reports.some((r) => r.id > after && r.status !== "running")) {
        window.location.replace(`${window.location.pathname}#reports`);
        return;
      }
    } catch {
      // The network dropped: try again at the next tick.
    }
  }
  note.textContent = gettext("The report is taking longer than expected; reload this page later.");
}

if (history) waitForReport();
