/* The keyboard: digits score the current criterion and move on, arrows move between criteria
 * and step a score, Enter (or Ctrl/Cmd+Enter anywhere) submits, S skips, G opens the
 * guidelines, Z/X/R/[/] drive the image viewer, Esc leaves the comment. */

import { changed } from "./drafts.js";
import { dialogOpen, openGuidelines, openSkip } from "./dialogs.js";
import { checked, clearFieldError, firstMissing, focusCriterion, radios, showAnchor } from "./form.js";
import { criteria, isTyping, state, submitButton } from "./page.js";
import { submit } from "./submit.js";

function setScore(fs, value) {
  var found = radios(fs).filter(function (r) { return parseInt(r.value, 10) === value; })[0];
  if (!found || found.disabled) return false;
  found.checked = true;
  showAnchor(fs);
  clearFieldError(fs.dataset.key);
  changed();
  return true;
}

function scoreCurrent(value) {
  var fs = criteria[state.current];
  if (!fs || !setScore(fs, value)) return;
  if (state.current < criteria.length - 1) focusCriterion(state.current + 1);
  else {
    var missing = firstMissing();
    if (missing !== -1) focusCriterion(missing);
    else if (submitButton) submitButton.focus();
  }
}

function stepScore(delta) {
  var fs = criteria[state.current];
  if (!fs) return;
  var values = radios(fs).map(function (r) { return parseInt(r.value, 10); });
  var c = checked(fs);
  var next;
  if (!c) next = delta > 0 ? values[0] : values[values.length - 1];
  else {
    var at = values.indexOf(parseInt(c.value, 10)) + delta;
    next = values[Math.max(0, Math.min(values.length - 1, at))];
  }
  setScore(fs, next);
  var r = checked(fs);
  if (r) r.focus({ preventScroll: true });
}

export function wireKeys(viewer) {
  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.isComposing) return;
    var t = e.target;
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && !dialogOpen()) {
      e.preventDefault();
      submit(false);
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (dialogOpen()) return; // dialogs: native keys (Esc closes, Enter confirms)
    if (isTyping(t)) {
      if (e.key === "Escape") { t.blur(); focusCriterion(state.current); }
      return;
    }
    var onRange = t && t.type === "range";
    var key = e.key;
    if (/^[0-9]$/.test(key)) {
      e.preventDefault();
      scoreCurrent(parseInt(key, 10));
      return;
    }
    switch (key) {
      case "ArrowDown":
      case "ArrowUp":
        if (onRange) return;
        e.preventDefault();
        focusCriterion(state.current + (key === "ArrowDown" ? 1 : -1));
        return;
      case "ArrowLeft":
      case "ArrowRight":
        if (onRange || !(t && (t.type === "radio" || t.classList.contains("criterion") ||
                              t === document.body))) return;
        e.preventDefault();
        stepScore(key === "ArrowRight" ? 1 : -1);
        return;
      case "Enter":
        if (t && (t.tagName === "BUTTON" || t.tagName === "A" || t.tagName === "SUMMARY")) return;
        e.preventDefault();
        submit(false);
        return;
      case "s": case "S": e.preventDefault(); openSkip(); return;
      case "g": case "G": e.preventDefault(); openGuidelines(); return;
      case "z": case "Z": case "+": case "=": e.preventDefault(); viewer.zoomIn(); return;
      case "x": case "X": case "-": e.preventDefault(); viewer.zoomOut(); return;
      case "r": case "R": e.preventDefault(); viewer.reset(); return;
      case "[": e.preventDefault(); viewer.previous(); return;
      case "]": e.preventDefault(); viewer.next(); return;
      default:
    }
  });
}
