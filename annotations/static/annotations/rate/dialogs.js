/* The two dialogs: the skip dialog (a reason, then a skip is submitted) and the guidelines.
 * Closing either puts the focus back on the current criterion. And the page's two display
 * toggles, kept on this device in cookies the server renders the next page with: the dark
 * reading mode (D) and the question shown or folded (Q). */

import { changed } from "./drafts.js";
import { focusCriterion } from "./form.js";
import { $, config, gettext, guidelinesDialog, setDeviceCookie, skipButton, skipDialog, skipReasonInput, state } from "./page.js";
import { submit } from "./submit.js";

export function dialogOpen() {
  return (guidelinesDialog && guidelinesDialog.open) || (skipDialog && skipDialog.open);
}

export function openSkip() {
  if (!config.canSubmit || !skipDialog || state.submitting) return;
  skipReasonInput.value = state.skipReason;
  $("error-skip_reason").hidden = true;
  skipDialog.showModal();
  skipReasonInput.focus();
}

export function openGuidelines() {
  if (guidelinesDialog && !guidelinesDialog.open) guidelinesDialog.showModal();
}

export function wireDialogs() {
  if (skipDialog) {
    $("skip-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var reason = skipReasonInput.value.trim();
      if (!reason) {
        var err = $("error-skip_reason");
        err.textContent = gettext("Say why you skip this item.");
        err.hidden = false;
        skipReasonInput.focus();
        return;
      }
      state.skipReason = reason;
      changed();
      skipDialog.close();
      submit(true);
    });
    $("cancel-skip").addEventListener("click", function () { skipDialog.close(); });
    skipDialog.querySelectorAll(".quick-reason").forEach(function (b) {
      b.addEventListener("click", function () { skipReasonInput.value = b.dataset.reason; skipReasonInput.focus(); });
    });
    skipDialog.addEventListener("close", function () { focusCriterion(state.current); });
  }
  if (skipButton) skipButton.addEventListener("click", openSkip);

  $("open-guidelines").addEventListener("click", openGuidelines);
  $("close-guidelines").addEventListener("click", function () { guidelinesDialog.close(); });
  guidelinesDialog.addEventListener("close", function () { focusCriterion(state.current); });
}

export function toggleTheme() {
  var dark = !document.body.classList.contains("theme-dark");
  document.body.classList.toggle("theme-dark", dark);
  setDeviceCookie("rate_theme", dark ? "dark" : "light");
  var button = $("theme-toggle");
  if (button) button.setAttribute("aria-pressed", dark ? "true" : "false");
}

// The choice is kept at once: the <details> "toggle" event comes a task later, and a reload
// right after Q would otherwise lose it.
function keepQuestionChoice(box) {
  setDeviceCookie("rate_question", box.open ? "shown" : "hidden");
}

export function toggleQuestion() {
  var box = $("question-box");
  if (!box) return;
  box.open = !box.open;
  keepQuestionChoice(box);
}

export function wireToggles() {
  var button = $("theme-toggle");
  if (button) button.addEventListener("click", toggleTheme);
  var box = $("question-box");
  if (box) {
    box.addEventListener("toggle", function () {
      keepQuestionChoice(box); // a click on the summary
      document.dispatchEvent(new CustomEvent("rate:textchange"));
    });
  }
}
