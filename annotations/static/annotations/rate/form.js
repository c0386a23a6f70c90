/* The rating form: reading and filling it, the current criterion, the anchor text shown under
 * each criterion's buttons (the focused, hovered or chosen score's definition), and the messages
 * and field errors shown under it. */

import { $, comment, criteria, definition, form, formMessage, gettext, interpolate, state } from "./page.js";

export function radios(fs) { return Array.prototype.slice.call(fs.querySelectorAll("input[type=radio]")); }
export function checked(fs) { return fs.querySelector("input[type=radio]:checked"); }

export function readInput() {
  var scores = {};
  criteria.forEach(function (fs) {
    var c = checked(fs);
    if (c) scores[fs.dataset.key] = parseInt(c.value, 10);
  });
  var flags = Array.prototype.slice.call(form.querySelectorAll("input[name=flag]:checked"))
    .map(function (i) { return i.value; });
  var guess = form.querySelector("input[name=method_guess]:checked");
  return { scores: scores, flags: flags, comment: comment.value, skip_reason: state.skipReason,
           method_guess: guess ? guess.value : "" };
}

export function applyInput(data) {
  if (!data) return;
  var scores = data.scores || {};
  criteria.forEach(function (fs) {
    var value = scores[fs.dataset.key];
    radios(fs).forEach(function (r) { r.checked = value !== undefined && parseInt(r.value, 10) === value; });
  });
  var flags = data.flags || [];
  form.querySelectorAll("input[name=flag]").forEach(function (i) { i.checked = flags.indexOf(i.value) !== -1; });
  comment.value = data.comment || "";
  form.querySelectorAll("input[name=method_guess]").forEach(function (i) { i.checked = i.value === data.method_guess; });
  state.skipReason = data.skip_reason || "";
  criteria.forEach(function (fs) { showLine(fs); });
  if (data.active_seconds) state.activeSeconds = Math.max(state.activeSeconds, +data.active_seconds || 0);
}

export function firstMissing() {
  for (var i = 0; i < criteria.length; i++) if (!checked(criteria[i])) return i;
  return -1;
}

/* ---------------------------------------------------------------- criteria */

/** The line under a criterion's buttons: ``radio``'s anchor (hovered or focused), else the chosen
 * score's, else the criterion's question. Two lines tall whatever it holds: no layout shift. */
export function showLine(fs, radio) {
  var line = fs.querySelector(".anchor-line");
  if (!line) return;
  var r = radio || checked(fs);
  if (r) {
    var value = document.createElement("b");
    value.textContent = r.value;
    line.replaceChildren(value, " — " + (r.dataset.anchor || gettext("no definition")));
  } else {
    line.textContent = fs.dataset.question || gettext("Choose a score.");
  }
  line.classList.toggle("is-anchor", !!r);
}

export function showAnchor(fs, radio) {
  // The criterion's own line, and one definition line for all criteria (read to screen
  // readers): the hovered or focused score's anchor text, else the current criterion's chosen
  // score, else its question.
  fs = fs || criteria[state.current];
  if (!fs) return;
  showLine(fs, radio);
  if (!definition) return;
  var name = fs.querySelector("legend").textContent.trim();
  var r = radio || checked(fs);
  definition.textContent = r
    ? name + " " + r.value + " — " + (r.dataset.anchor || "")
    : interpolate(gettext("%(name)s: %(question)s"),
                  { name: name, question: fs.dataset.question || gettext("choose a score") }, true);
  definition.classList.toggle("is-anchor", !!r);
}

export function setCurrent(i) {
  if (!criteria.length) return;
  state.current = Math.max(0, Math.min(criteria.length - 1, i));
  criteria.forEach(function (fs, n) { fs.classList.toggle("current", n === state.current); });
  showAnchor();
}

export function focusCriterion(i) {
  if (!criteria.length) return;
  setCurrent(i);
  var fs = criteria[state.current];
  // The chosen score, or the group itself: focusing an unchosen "1" would look like a choice.
  var target = checked(fs) || fs;
  if (!target.disabled) target.focus({ preventScroll: true });
  fs.scrollIntoView({ block: "nearest" });
}

/** Every input of the form calls ``changed`` when the expert edits it. */
export function wireForm(changed) {
  criteria.forEach(function (fs, n) {
    radios(fs).forEach(function (r) {
      r.addEventListener("change", function () { showAnchor(fs); clearFieldError(fs.dataset.key); changed(); });
      var label = r.closest("label");
      label.addEventListener("mouseenter", function () { showAnchor(fs, r); });
      label.addEventListener("mouseleave", function () { showLine(fs); showAnchor(); });
      r.addEventListener("focus", function () { setCurrent(n); showAnchor(fs, r.checked ? r : null); });
      r.addEventListener("blur", function () { showLine(fs); showAnchor(); });
    });
    fs.addEventListener("pointerdown", function () { setCurrent(n); });
  });
  form.querySelectorAll("input[name=flag], input[name=method_guess]").forEach(function (i) { i.addEventListener("change", changed); });
  comment.addEventListener("input", changed);
}

/* ---------------------------------------------------------------- messages */

export function showMessage(text) {
  formMessage.textContent = text;
  formMessage.hidden = false;
}
export function clearMessage() { formMessage.hidden = true; formMessage.textContent = ""; }

export function fieldError(key, text) {
  var node = $("error-" + key);
  if (node) { node.textContent = text; node.hidden = false; }
  var fs = $("criterion-" + key);
  if (fs) fs.classList.add("invalid");
}
export function clearFieldError(key) {
  var node = $("error-" + key);
  if (node) { node.hidden = true; node.textContent = ""; }
  var fs = $("criterion-" + key);
  if (fs) fs.classList.remove("invalid");
}
export function clearErrors() {
  document.querySelectorAll(".field-error").forEach(function (n) { n.hidden = true; n.textContent = ""; });
  criteria.forEach(function (fs) { fs.classList.remove("invalid"); });
  clearMessage();
}
