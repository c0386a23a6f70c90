/* The rating page's shared parts: its configuration (from <script type="application/json"
 * id="rate-config">, no inline code), its elements, the state the other modules share, and a
 * few small helpers. No side effect beyond reading the page. */

// Strings come from Django's JavaScript catalogue (/jsi18n/, a plain script loaded before the
// modules) in the expert's language; without it the page still works, in English.
export const gettext = window.gettext || function (text) { return text; };
export const interpolate = window.interpolate || function (text, values) {
  return text.replace(/%\((\w+)\)s/g, function (m, name) { return values[name]; });
};

export const $ = function (id) { return document.getElementById(id); };

const configNode = $("rate-config");
export const config = configNode ? JSON.parse(configNode.textContent) : null;

export const form = $("rating-form");
export const criteria = Array.prototype.slice.call(document.querySelectorAll("fieldset.criterion"));
export const comment = $("comment");
export const submitButton = $("submit-button");
export const skipButton = $("skip-button");
export const saveState = $("save-state");
export const formMessage = $("form-message");
export const guidelinesDialog = $("guidelines-dialog");
export const skipDialog = $("skip-dialog");
export const skipReasonInput = $("skip-reason");
export const definition = $("definition");
export const qa = $("qa");
export const storageKey = config ? "rate-draft:" + config.assignment : null;

export const state = {
  current: 0,
  skipReason: "",
  activeSeconds: 0,
  lastInput: Date.now(),
  lastTick: Date.now(),
  submitting: false,
  // A submit's client-made id is reused while the input is unchanged, so a retry after a
  // lost answer is stored once; changed input gets a new id.
  pendingId: null,
  pendingBody: null,
  draftTimer: null,
  dirty: false,
  // "flag" or "guess" after F or H: the next digit picks in that group, not a score.
  prefix: null,
  prefixTimer: null,
};

/** The expert's display choices, kept in this browser (never sent). */
export function loadPref(key, fallback) {
  try {
    var raw = window.localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch (e) { return fallback; }
}
export function savePref(key, value) {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, JSON.stringify(value));
  } catch (e) { /* private mode or full: the choice lasts this page */ }
}
/** A choice the server renders the page with (no flash before the script runs): a cookie. */
export function setDeviceCookie(name, value) {
  document.cookie = name + "=" + encodeURIComponent(value) + "; path=/; max-age=31536000; SameSite=Lax";
}

export function cookie(name) {
  var parts = document.cookie ? document.cookie.split("; ") : [];
  for (var i = 0; i < parts.length; i++) {
    var eq = parts[i].indexOf("=");
    if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
  }
  return "";
}

export function uuid4() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    return window.crypto.randomUUID();
  }
  // crypto.randomUUID needs a secure context; getRandomValues does not.
  var b = window.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}

export function isTyping(el) {
  if (!el || !el.tagName) return false;
  if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
  if (el.tagName !== "INPUT") return false;
  return ["radio", "checkbox", "range", "button", "submit", "reset"].indexOf(el.type) === -1;
}

export function postJSON(url, body, keepalive) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    keepalive: !!keepalive,
    headers: {
      "Content-Type": "application/json",
      "Accept": "application/json",
      "X-CSRFToken": cookie("csrftoken"),
    },
    body: JSON.stringify(body),
  });
}
