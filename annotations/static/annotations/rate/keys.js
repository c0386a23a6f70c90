/* The keyboard: digits score the current criterion and move on, arrows move between criteria
 * and step a score, Enter (or Ctrl/Cmd+Enter anywhere) submits, S skips, G opens the
 * guidelines, Z/X/W/R/[/] drive the image viewer, Esc leaves the comment. F then a digit ticks
 * a flag, H then a digit picks the "how was it made" guess, C goes to the comment. Space and
 * Shift+Space, J/K, PageDown/PageUp and Home/End scroll the text when it is longer than its
 * column; Q folds the question, D switches the dark reading mode. */

import { changed } from "./drafts.js";
import { dialogOpen, openGuidelines, openSkip, toggleQuestion, toggleTheme } from "./dialogs.js";
import { checked, clearFieldError, firstMissing, focusCriterion, radios, showAnchor } from "./form.js";
import { $, comment, criteria, form, isTyping, qa, state, submitButton } from "./page.js";
import { submit } from "./submit.js";

/* ---------------------------------------------------------------- the text */

function scrollText(how) {
  if (!qa) return;
  // A page, less two lines kept for context (most of it, in a short column).
  var page = Math.max(qa.clientHeight * 0.6, qa.clientHeight - 48);
  var line = 3 * 21;
  var top = { down: page, up: -page, lineDown: line, lineUp: -line }[how];
  if (how === "home") qa.scrollTop = 0;
  else if (how === "end") qa.scrollTop = qa.scrollHeight;
  else qa.scrollBy({ top: top, behavior: "auto" });
}

/** The "More below" mark, shown while the text runs on below its column. */
export function wireTextScroll() {
  var more = $("more-text");
  if (!qa || !more) return;
  var update = function () { more.hidden = qa.scrollTop + qa.clientHeight >= qa.scrollHeight - 2; };
  qa.addEventListener("scroll", update, { passive: true });
  window.addEventListener("resize", update);
  document.addEventListener("rate:textchange", update);
  update();
}

/* ---------------------------------------------------------------- F / H, then a digit */

function groupOf(kind) {
  return kind === "flag" ? $("flags") : $("method-guess");
}

function disarm() {
  if (!state.prefix) return;
  var group = groupOf(state.prefix);
  if (group) group.classList.remove("armed");
  state.prefix = null;
  clearTimeout(state.prefixTimer);
}

function arm(kind) {
  disarm();
  var group = groupOf(kind);
  if (!group || group.matches(":disabled")) return;
  state.prefix = kind;
  group.classList.add("armed");
  state.prefixTimer = setTimeout(disarm, 4000);
}

function pick(kind, n) {
  var name = kind === "flag" ? "flag" : "method_guess";
  var input = form.querySelectorAll("input[name=" + name + "]")[n - 1];
  if (!input || input.matches(":disabled")) return;
  // A flag toggles; the guess is one of several, and its own digit again clears it.
  input.checked = !input.checked;
  changed();
}

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
    if (state.prefix) {
      var kind = state.prefix;
      disarm();
      if (/^[1-9]$/.test(key)) { e.preventDefault(); pick(kind, parseInt(key, 10)); return; }
      if (key === "Escape") { e.preventDefault(); return; }
      // any other key: the F or H is forgotten and the key does what it always does
    }
    var native = t && (t.tagName === "BUTTON" || t.tagName === "A" || t.tagName === "SUMMARY" ||
                       t.tagName === "SELECT" || t.type === "checkbox");
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
      case "w": case "W": e.preventDefault(); viewer.cycleWindow(); return;
      case "f": case "F": e.preventDefault(); arm("flag"); return;
      case "h": case "H": e.preventDefault(); arm("guess"); return;
      case "c": case "C":
        if (comment && !comment.matches(":disabled")) { e.preventDefault(); comment.focus(); }
        return;
      case "q": case "Q": e.preventDefault(); toggleQuestion(); return;
      case "d": case "D": e.preventDefault(); toggleTheme(); return;
      case " ":
        if (native) return; // Space presses a focused button or ticks a focused flag
        e.preventDefault();
        scrollText(e.shiftKey ? "up" : "down");
        return;
      case "PageDown": case "PageUp":
        if (onRange || native) return;
        e.preventDefault();
        scrollText(key === "PageDown" ? "down" : "up");
        return;
      case "Home": case "End":
        if (onRange || native) return;
        e.preventDefault();
        scrollText(key === "Home" ? "home" : "end");
        return;
      case "j": case "J": e.preventDefault(); scrollText("lineDown"); return;
      case "k": case "K": e.preventDefault(); scrollText("lineUp"); return;
      case "]": e.preventDefault(); viewer.next(); return;
      default:
    }
  });
}
