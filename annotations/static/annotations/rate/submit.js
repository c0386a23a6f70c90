/* Submitting a rating or a skip: idempotent (a retry of unchanged input reuses its client id,
 * so it is stored once), and every error keeps the expert's input on the page. */

import { tick } from "./activity.js";
import { cancelDraftSave, forgetLocal, setSaveState } from "./drafts.js";
import { checked, clearErrors, fieldError, focusCriterion, readInput, showMessage } from "./form.js";
import { config, criteria, form, gettext, interpolate, postJSON, skipButton, state, submitButton, uuid4 } from "./page.js";

function flatten(v) {
  if (Array.isArray(v)) return v.join(" ");
  if (v && typeof v === "object") return Object.keys(v).map(function (k) { return flatten(v[k]); }).join(" ");
  return String(v);
}

function showServerErrors(data) {
  var names = {};
  config.criteria.forEach(function (c) { names[c.key] = c.name; });
  var lines = [];
  Object.keys(data || {}).forEach(function (key) {
    if (key === "scores" && data.scores && typeof data.scores === "object" && !Array.isArray(data.scores)) {
      Object.keys(data.scores).forEach(function (ck) {
        var text = flatten(data.scores[ck]);
        if (names[ck]) fieldError(ck, text);
        lines.push((names[ck] ? names[ck] + ": " : "") + text);
      });
    } else {
      var text = flatten(data[key]);
      fieldError(key, text);
      lines.push(text);
    }
  });
  showMessage(interpolate(
    gettext("Not saved: %(reason)s Your input is still here; correct it and submit again."),
    { reason: lines.join(" ") || gettext("the server did not accept this rating.") }, true));
}

function setBusy(busy) {
  if (submitButton) submitButton.disabled = busy;
  if (skipButton) skipButton.disabled = busy;
  form.setAttribute("aria-busy", busy ? "true" : "false");
}

export function submit(skipped) {
  if (state.submitting || !config.canSubmit) return;
  clearErrors();
  var input = readInput();
  if (!skipped) {
    var missing = criteria.filter(function (fs) { return !checked(fs); });
    if (missing.length) {
      missing.forEach(function (fs) { fieldError(fs.dataset.key, gettext("Give a score.")); });
      showMessage(interpolate(gettext("Give a score for %(criteria)s before you submit."), {
        criteria: missing.map(function (fs) {
          return fs.querySelector("legend").textContent.trim();
        }).join(", "),
      }, true));
      focusCriterion(criteria.indexOf(missing[0]));
      return;
    }
  }
  var content = {
    scores: skipped ? {} : input.scores,
    flags: input.flags,
    comment: input.comment,
    skipped: !!skipped,
    skip_reason: skipped ? state.skipReason : "",
  };
  // Only sent when the audit asks, so a page without the question posts what it always did.
  if (input.method_guess) content.method_guess = input.method_guess;
  var key = JSON.stringify(content);
  tick();
  if (!state.pendingId || state.pendingBody !== key) {
    state.pendingId = uuid4();
    state.pendingBody = key;
  }
  var body = Object.assign({ client_id: state.pendingId, active_seconds: Math.round(state.activeSeconds * 10) / 10 }, content);
  state.submitting = true;
  cancelDraftSave();
  setBusy(true);
  setSaveState("Saving…");
  postJSON(config.submitUrl, body).then(function (response) {
    return response.json().catch(function () { return null; }).then(function (data) {
      if (response.status === 200 || response.status === 201) {
        forgetLocal();
        setSaveState("Saved.");
        // Opened from History to revise: back there, to this item's row; else the next item.
        window.location.assign(config.returnUrl || (data && data.next) || window.location.href);
        return;
      }
      state.submitting = false;
      setBusy(false);
      setSaveState("");
      if (response.status === 400) {
        state.pendingId = null; // definitely not stored
        showServerErrors(data);
      } else if (response.status === 403) {
        showMessage(gettext("Not saved: you seem to be signed out (your session may have expired). Sign in again in another tab, then press Submit here again. Your input is kept."));
      } else if (response.status === 404) {
        showMessage(gettext("Not saved: this item is no longer in your queue. Go back to your audits to continue."));
      } else if (response.status === 409) {
        showMessage(interpolate(gettext("Not saved: %(reason)s Your input is kept on this device."),
                                { reason: (data && data.detail) || gettext("this audit is not open for ratings.") }, true));
      } else {
        showMessage(interpolate(gettext("Not saved: the server had a problem (error %(status)s). Your input is still here; press Submit again in a moment."),
                                { status: response.status }, true));
      }
    });
  }, function () {
    state.submitting = false;
    setBusy(false);
    setSaveState("");
    showMessage(gettext("Not saved: the server could not be reached. Your input is still here; check your connection and press Submit again."));
  });
}

export function wireSubmit() {
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(false); });
}
