/* The rating page: keyboard for everything, an image viewer, drafts kept locally and on the
 * server, idempotent submits, active time. Vanilla JS, no build step, no inline code: the
 * page's configuration comes from <script type="application/json" id="rate-config">. */
(function () {
  "use strict";

  var configNode = document.getElementById("rate-config");
  if (!configNode) return;
  var config = JSON.parse(configNode.textContent);

  var $ = function (id) { return document.getElementById(id); };
  var form = $("rating-form");
  var criteria = Array.prototype.slice.call(document.querySelectorAll("fieldset.criterion"));
  var comment = $("comment");
  var submitButton = $("submit-button");
  var skipButton = $("skip-button");
  var saveState = $("save-state");
  var formMessage = $("form-message");
  var guidelinesDialog = $("guidelines-dialog");
  var skipDialog = $("skip-dialog");
  var skipReasonInput = $("skip-reason");
  var storageKey = "rate-draft:" + config.assignment;

  var state = {
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
  };

  /* ---------------------------------------------------------------- helpers */

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return "";
  }

  function uuid4() {
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

  function isTyping(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    if (el.tagName !== "INPUT") return false;
    return ["radio", "checkbox", "range", "button", "submit", "reset"].indexOf(el.type) === -1;
  }

  function postJSON(url, body, keepalive) {
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

  function dialogOpen() {
    return (guidelinesDialog && guidelinesDialog.open) || (skipDialog && skipDialog.open);
  }

  /* ---------------------------------------------------------------- form state */

  function radios(fs) { return Array.prototype.slice.call(fs.querySelectorAll("input[type=radio]")); }
  function checked(fs) { return fs.querySelector("input[type=radio]:checked"); }

  function readInput() {
    var scores = {};
    criteria.forEach(function (fs) {
      var c = checked(fs);
      if (c) scores[fs.dataset.key] = parseInt(c.value, 10);
    });
    var flags = Array.prototype.slice.call(form.querySelectorAll("input[name=flag]:checked"))
      .map(function (i) { return i.value; });
    return { scores: scores, flags: flags, comment: comment.value, skip_reason: state.skipReason };
  }

  function applyInput(data) {
    if (!data) return;
    var scores = data.scores || {};
    criteria.forEach(function (fs) {
      var value = scores[fs.dataset.key];
      radios(fs).forEach(function (r) { r.checked = value !== undefined && parseInt(r.value, 10) === value; });
    });
    var flags = data.flags || [];
    form.querySelectorAll("input[name=flag]").forEach(function (i) { i.checked = flags.indexOf(i.value) !== -1; });
    comment.value = data.comment || "";
    state.skipReason = data.skip_reason || "";
    if (data.active_seconds) state.activeSeconds = Math.max(state.activeSeconds, +data.active_seconds || 0);
  }

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

  function restore() {
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
      setSaveState("Restored your unsaved input.");
    }
  }

  function setSaveState(text) { if (saveState) saveState.textContent = text; }

  function draftBody() {
    tick();
    var d = readInput();
    d.active_seconds = Math.round(state.activeSeconds);
    d.saved_at = Date.now();
    return d;
  }

  function changed() {
    state.dirty = true;
    clearMessage();
    var d = draftBody();
    try {
      window.localStorage.setItem(storageKey, JSON.stringify(d));
      setSaveState("Saved on this device.");
    } catch (e) { /* private mode or full: the server copy still works */ }
    if (state.draftTimer) clearTimeout(state.draftTimer);
    state.draftTimer = setTimeout(saveDraftToServer, 1200);
  }

  function saveDraftToServer(keepalive) {
    state.draftTimer = null;
    if (!state.dirty || state.submitting || config.status !== "pending") return;
    var body = draftBody();
    postJSON(config.draftUrl, body, keepalive).then(function (r) {
      if (r.ok) { state.dirty = false; setSaveState("Draft saved."); }
      else setSaveState("Saved on this device (the server did not take the draft).");
    }, function () { setSaveState("Saved on this device; the server is not reachable."); });
  }

  /* ---------------------------------------------------------------- criteria */

  var definition = $("definition");

  function showAnchor(fs, radio) {
    // One definition line for all criteria (no layout shift): the hovered or focused score's
    // anchor text, else the current criterion's chosen score, else its question.
    if (!definition) return;
    fs = fs || criteria[state.current];
    if (!fs) return;
    var name = fs.querySelector("legend").textContent.trim();
    var r = radio || checked(fs);
    definition.textContent = r
      ? name + " " + r.value + " — " + (r.dataset.anchor || "")
      : name + ": " + (fs.dataset.question || "choose a score");
    definition.classList.toggle("is-anchor", !!r);
  }

  function setCurrent(i) {
    if (!criteria.length) return;
    state.current = Math.max(0, Math.min(criteria.length - 1, i));
    criteria.forEach(function (fs, n) { fs.classList.toggle("current", n === state.current); });
    showAnchor();
  }

  function focusCriterion(i) {
    if (!criteria.length) return;
    setCurrent(i);
    var fs = criteria[state.current];
    // The chosen score, or the group itself: focusing an unchosen "1" would look like a choice.
    var target = checked(fs) || fs;
    if (!target.disabled) target.focus({ preventScroll: true });
    fs.scrollIntoView({ block: "nearest" });
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

  function firstMissing() {
    for (var i = 0; i < criteria.length; i++) if (!checked(criteria[i])) return i;
    return -1;
  }

  criteria.forEach(function (fs, n) {
    radios(fs).forEach(function (r) {
      r.addEventListener("change", function () { showAnchor(fs); clearFieldError(fs.dataset.key); changed(); });
      var label = r.closest("label");
      label.addEventListener("mouseenter", function () { showAnchor(fs, r); });
      label.addEventListener("mouseleave", function () { showAnchor(); });
      r.addEventListener("focus", function () { setCurrent(n); showAnchor(fs, r.checked ? r : null); });
      r.addEventListener("blur", function () { showAnchor(); });
    });
    fs.addEventListener("pointerdown", function () { setCurrent(n); });
  });
  form.querySelectorAll("input[name=flag]").forEach(function (i) { i.addEventListener("change", changed); });
  comment.addEventListener("input", changed);

  /* ---------------------------------------------------------------- messages */

  function showMessage(text) {
    formMessage.textContent = text;
    formMessage.hidden = false;
  }
  function clearMessage() { formMessage.hidden = true; formMessage.textContent = ""; }

  function fieldError(key, text) {
    var node = $("error-" + key);
    if (node) { node.textContent = text; node.hidden = false; }
    var fs = $("criterion-" + key);
    if (fs) fs.classList.add("invalid");
  }
  function clearFieldError(key) {
    var node = $("error-" + key);
    if (node) { node.hidden = true; node.textContent = ""; }
    var fs = $("criterion-" + key);
    if (fs) fs.classList.remove("invalid");
  }
  function clearErrors() {
    document.querySelectorAll(".field-error").forEach(function (n) { n.hidden = true; n.textContent = ""; });
    criteria.forEach(function (fs) { fs.classList.remove("invalid"); });
    clearMessage();
  }

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
    showMessage("Not saved: " + (lines.join(" ") || "the server did not accept this rating.") +
                " Your input is still here; correct it and submit again.");
  }

  /* ---------------------------------------------------------------- submit */

  function submit(skipped) {
    if (state.submitting || !config.canSubmit) return;
    clearErrors();
    var input = readInput();
    if (!skipped) {
      var missing = criteria.filter(function (fs) { return !checked(fs); });
      if (missing.length) {
        missing.forEach(function (fs) { fieldError(fs.dataset.key, "Give a score."); });
        showMessage("Give a score for " + missing.map(function (fs) {
          return fs.querySelector("legend").textContent.trim();
        }).join(", ") + " before you submit.");
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
    var key = JSON.stringify(content);
    tick();
    if (!state.pendingId || state.pendingBody !== key) {
      state.pendingId = uuid4();
      state.pendingBody = key;
    }
    var body = Object.assign({ client_id: state.pendingId, active_seconds: Math.round(state.activeSeconds * 10) / 10 }, content);
    state.submitting = true;
    if (state.draftTimer) { clearTimeout(state.draftTimer); state.draftTimer = null; }
    setBusy(true);
    setSaveState("Saving…");
    postJSON(config.submitUrl, body).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (response.status === 200 || response.status === 201) {
          try { window.localStorage.removeItem(storageKey); } catch (e) { /* ignore */ }
          setSaveState("Saved.");
          window.location.assign((data && data.next) || window.location.href);
          return;
        }
        state.submitting = false;
        setBusy(false);
        setSaveState("");
        if (response.status === 400) {
          state.pendingId = null; // definitely not stored
          showServerErrors(data);
        } else if (response.status === 403) {
          showMessage("Not saved: you seem to be signed out (your session may have expired). " +
                      "Sign in again in another tab, then press Submit here again. Your input is kept.");
        } else if (response.status === 404) {
          showMessage("Not saved: this item is no longer in your queue. Go back to your audits to continue.");
        } else if (response.status === 409) {
          showMessage("Not saved: " + ((data && data.detail) || "this audit is not open for ratings.") +
                      " Your input is kept on this device.");
        } else {
          showMessage("Not saved: the server had a problem (error " + response.status + "). " +
                      "Your input is still here; press Submit again in a moment.");
        }
      });
    }, function () {
      state.submitting = false;
      setBusy(false);
      setSaveState("");
      showMessage("Not saved: the server could not be reached. Your input is still here; " +
                  "check your connection and press Submit again.");
    });
  }

  function setBusy(busy) {
    if (submitButton) submitButton.disabled = busy;
    if (skipButton) skipButton.disabled = busy;
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); submit(false); });

  /* ---------------------------------------------------------------- skip & guidelines */

  function openSkip() {
    if (!config.canSubmit || !skipDialog || state.submitting) return;
    skipReasonInput.value = state.skipReason;
    $("error-skip_reason").hidden = true;
    skipDialog.showModal();
    skipReasonInput.focus();
  }

  if (skipDialog) {
    $("skip-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var reason = skipReasonInput.value.trim();
      if (!reason) {
        var err = $("error-skip_reason");
        err.textContent = "Say why you skip this item.";
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

  function openGuidelines() {
    if (guidelinesDialog && !guidelinesDialog.open) guidelinesDialog.showModal();
  }
  $("open-guidelines").addEventListener("click", openGuidelines);
  $("close-guidelines").addEventListener("click", function () { guidelinesDialog.close(); });
  guidelinesDialog.addEventListener("close", function () { focusCriterion(state.current); });

  /* ---------------------------------------------------------------- image viewer */

  var viewer = (function () {
    var stage = $("stage");
    var img = $("main-image");
    var brightness = $("brightness");
    var contrast = $("contrast");
    var zoomLabel = $("zoom-level");
    var thumbs = Array.prototype.slice.call(document.querySelectorAll(".thumb"));
    var images = config.images || [];
    var v = { scale: 1, x: 0, y: 0, index: 0 };
    var MIN = 0.25, MAX = 16, STEP = 1.25;

    function apply() {
      if (!img) return;
      img.style.transform = "translate(" + v.x + "px, " + v.y + "px) scale(" + v.scale + ")";
      img.style.filter = "brightness(" + brightness.value + "%) contrast(" + contrast.value + "%)";
      zoomLabel.textContent = Math.round(v.scale * 100) + "%";
    }

    function zoom(factor, px, py) {
      // Zoom about a point (px, py) given relative to the stage's centre: it stays put.
      var next = Math.max(MIN, Math.min(MAX, v.scale * factor));
      px = px || 0; py = py || 0;
      v.x = px - (next * (px - v.x)) / v.scale;
      v.y = py - (next * (py - v.y)) / v.scale;
      v.scale = next;
      apply();
    }

    function reset() {
      v.scale = 1; v.x = 0; v.y = 0;
      brightness.value = 100; contrast.value = 100;
      apply();
    }

    function show(i) {
      if (!img || !images.length) return;
      v.index = (i + images.length) % images.length;
      $("image-error").hidden = true;
      img.src = images[v.index].url;
      img.alt = "Image " + (v.index + 1) + " of " + images.length;
      v.scale = 1; v.x = 0; v.y = 0;
      apply();
      thumbs.forEach(function (t, n) {
        t.classList.toggle("active", n === v.index);
        t.setAttribute("aria-pressed", n === v.index ? "true" : "false");
      });
      var count = $("image-count");
      if (count) count.textContent = "Image " + (v.index + 1) + " of " + images.length;
    }

    if (img) {
      img.addEventListener("error", function () { $("image-error").hidden = false; });
      stage.addEventListener("wheel", function (e) {
        e.preventDefault();
        var rect = stage.getBoundingClientRect();
        zoom(e.deltaY < 0 ? STEP : 1 / STEP,
             e.clientX - rect.left - rect.width / 2, e.clientY - rect.top - rect.height / 2);
      }, { passive: false });
      var drag = null;
      stage.addEventListener("pointerdown", function (e) {
        if (e.button !== 0) return;
        drag = { id: e.pointerId, x: e.clientX, y: e.clientY };
        stage.setPointerCapture(e.pointerId);
        stage.classList.add("dragging");
      });
      stage.addEventListener("pointermove", function (e) {
        if (!drag || e.pointerId !== drag.id) return;
        v.x += e.clientX - drag.x; v.y += e.clientY - drag.y;
        drag.x = e.clientX; drag.y = e.clientY;
        apply();
      });
      var end = function (e) {
        if (!drag || e.pointerId !== drag.id) return;
        drag = null;
        stage.classList.remove("dragging");
      };
      stage.addEventListener("pointerup", end);
      stage.addEventListener("pointercancel", end);
      stage.addEventListener("dblclick", function (e) {
        var rect = stage.getBoundingClientRect();
        zoom(2, e.clientX - rect.left - rect.width / 2, e.clientY - rect.top - rect.height / 2);
      });
    }
    $("zoom-in").addEventListener("click", function () { zoom(STEP); });
    $("zoom-out").addEventListener("click", function () { zoom(1 / STEP); });
    $("reset-view").addEventListener("click", reset);
    brightness.addEventListener("input", apply);
    contrast.addEventListener("input", apply);
    thumbs.forEach(function (t) {
      t.addEventListener("click", function () { show(parseInt(t.dataset.index, 10)); });
    });
    apply();
    return {
      zoomIn: function () { zoom(STEP); },
      zoomOut: function () { zoom(1 / STEP); },
      reset: reset,
      next: function () { if (images.length > 1) show(v.index + 1); },
      previous: function () { if (images.length > 1) show(v.index - 1); },
    };
  })();

  /* ---------------------------------------------------------------- keyboard */

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

  /* ---------------------------------------------------------------- active time */

  // Count the time since the last tick when the page is visible and was used in the last
  // minute; called every second and right before a draft or a submit is sent.
  function tick() {
    var now = Date.now();
    var delta = Math.min(now - state.lastTick, 2000) / 1000;
    state.lastTick = now;
    if (document.visibilityState === "visible" && now - state.lastInput < 60000) {
      state.activeSeconds += delta;
    }
  }

  function touched() {
    var now = Date.now();
    // Coming back after a long pause: the idle stretch does not count.
    if (now - state.lastInput >= 60000) state.lastTick = now;
    state.lastInput = now;
  }
  ["keydown", "pointerdown", "wheel", "input", "scroll"].forEach(function (name) {
    document.addEventListener(name, touched, { capture: true, passive: true });
  });
  var lastMove = 0;
  document.addEventListener("pointermove", function () {
    var now = Date.now();
    if (now - lastMove > 1000) { lastMove = now; touched(); }
  }, { passive: true });

  setInterval(tick, 1000);

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") tick(); // count up to the moment it was hidden
    state.lastTick = Date.now();
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

  /* ---------------------------------------------------------------- start */

  restore();
  var start = firstMissing();
  focusCriterion(start === -1 ? 0 : start);
  // Expose a little for tests and for the curious; nothing here is secret.
  window.rateState = {
    activeSeconds: function () { return state.activeSeconds; },
    clientId: function () { return state.pendingId; },
  };
})();
