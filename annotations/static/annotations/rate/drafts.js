/* Drafts: every change is kept in this browser at once and sent to the server a moment later
 * (and when the page is hidden or left); on load the newest of the stored rating, the
 * server's draft and this browser's draft is restored. */

import { tick } from "./activity.js";
import { applyInput, clearMessage, readInput } from "./form.js";
import { config, gettext, postJSON, saveState, state, storageKey } from "./page.js";

function hasContent(d) {
  return !!d && (Object.keys(d.scores || {}).length > 0 || (d.flags || []).length > 0 ||
                 !!d.comment || !!d.skip_reason || !!d.active_seconds);
}

function loadLocal() {
  try {
    var raw = window.localStorage.getItem(storageKey);
    return raw ? JSON.parse(raw) : null;
  } catch (e) { return null; }
}

export function forgetLocal() {
  try { window.localStorage.removeItem(storageKey); } catch (e) { /* ignore */ }
}

export function restore() {
  // The stored rating (when revising), the server's draft and this browser's draft: the newest wins.
  var candidates = [];
  if (config.rating) candidates.push({ data: config.rating, at: config.rating.saved_at || 0, from: "rating" });
  if (hasContent(config.draft)) candidates.push({ data: config.draft, at: config.draft.saved_at || 0, from: "server" });
  var local = loadLocal();
  if (hasContent(local)) candidates.push({ data: local, at: local.saved_at || 0, from: "local" });
  if (!candidates.length) return;
  candidates.sort(function (a, b) { return b.at - a.at; });
  var best = candidates[0];
  applyInput(best.data);
  if (best.from !== "rating") {
    // Carry the time already spent over, whichever copy holds more.
    candidates.forEach(function (c) {
      if (c.from !== "rating") state.activeSeconds = Math.max(state.activeSeconds, +c.data.active_seconds || 0);
    });
    setSaveState(gettext("Restored your unsaved input."));
  }
}

export function setSaveState(text) { if (saveState) saveState.textContent = text; }

function draftBody() {
  tick();
  var d = readInput();
  d.active_seconds = Math.round(state.activeSeconds);
  d.saved_at = Date.now();
  return d;
}

export function changed() {
  state.dirty = true;
  clearMessage();
  var d = draftBody();
  try {
    window.localStorage.setItem(storageKey, JSON.stringify(d));
    setSaveState(gettext("Saved on this device."));
  } catch (e) { /* private mode or full: the server copy still works */ }
  if (state.draftTimer) clearTimeout(state.draftTimer);
  state.draftTimer = setTimeout(saveDraftToServer, 1200);
}

export function cancelDraftSave() {
  if (state.draftTimer) { clearTimeout(state.draftTimer); state.draftTimer = null; }
}

function saveDraftToServer(keepalive) {
  state.draftTimer = null;
  if (!state.dirty || state.submitting || config.status !== "pending") return;
  var body = draftBody();
  postJSON(config.draftUrl, body, keepalive).then(function (r) {
    if (r.ok) { state.dirty = false; setSaveState(gettext("Draft saved.")); }
    else setSaveState(gettext("Saved on this device (the server did not take the draft)."));
  }, function () { setSaveState(gettext("Saved on this device; the server is not reachable.")); });
}

/** Keep unsent input when the page is hidden or left. Wire after ``startActiveTime``. */
export function saveOnLeave() {
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      if (state.dirty) {
        try { window.localStorage.setItem(storageKey, JSON.stringify(draftBody())); } catch (e) { /* ignore */ }
      }
      if (state.dirty && !state.submitting) saveDraftToServer(true);
    }
  });
  window.addEventListener("pagehide", function () {
    if (state.dirty && !state.submitting) saveDraftToServer(true);
  });
}
