/* The image viewer: zoom (buttons, wheel about the pointer, double click), pan by dragging,
 * brightness and contrast, grey-level window presets, and the thumbnails of an item with
 * several images. Zoom, brightness, contrast and window are the expert's settings: kept in this
 * browser per campaign, so the next item opens as they left the last (R resets them). */

import { $, gettext, interpolate, loadPref, savePref } from "./page.js";

const MIN = 0.25, MAX = 16, STEP = 1.25;

// Window presets: the grey range [low, high] (0 = black, 1 = white) stretched over the whole
// scale, as a radiologist's window does. "Soft tissue" spreads the mid greys, "bone" the bright
// structures, "dark detail" the dark ones (air, lung).
export const WINDOWS = { soft: [0.2, 0.7], bone: [0.45, 1], dark: [0, 0.5] };
const WINDOW_ORDER = ["", "soft", "bone", "dark"];

/** The brightness and contrast (percent, on the sliders' step of 5) that map [low, high] onto
 * [0, 1]: brightness(b) then contrast(c) is v -> (b v - 1/2) c + 1/2, so c = (high + low) /
 * (high - low) and b = 1 / (high + low). */
export function windowSettings(low, high) {
  var round5 = function (x) { return Math.round(x * 20) * 5; };
  return { brightness: round5(1 / (high + low)), contrast: round5((high + low) / (high - low)) };
}

/** Wire the viewer to the page's elements; returns what the keyboard drives. */
export function createViewer(images, campaign) {
  var stage = $("stage");
  var img = $("main-image");
  var brightness = $("brightness");
  var contrast = $("contrast");
  var zoomLabel = $("zoom-level");
  var preset = $("window-preset");
  var thumbs = Array.prototype.slice.call(document.querySelectorAll(".thumb"));
  images = images || [];
  var v = { scale: 1, x: 0, y: 0, index: 0 };
  var prefKey = "rate-view:" + (campaign || "");

  function save() {
    savePref(prefKey, { scale: v.scale, brightness: +brightness.value, contrast: +contrast.value,
                        window: preset ? preset.value : "" });
  }

  function restoreSettings() {
    var saved = loadPref(prefKey, null);
    if (!saved || typeof saved !== "object") return;
    if (saved.scale >= MIN && saved.scale <= MAX) v.scale = saved.scale;
    if (saved.brightness) brightness.value = saved.brightness;
    if (saved.contrast) contrast.value = saved.contrast;
    if (preset && saved.window !== undefined) preset.value = saved.window || "";
  }

  function setWindow(name) {
    var range = WINDOWS[name];
    if (preset) preset.value = range ? name : "";
    var s = range ? windowSettings(range[0], range[1]) : { brightness: 100, contrast: 100 };
    brightness.value = s.brightness;
    contrast.value = s.contrast;
    apply();
    save();
  }

  function cycleWindow() {
    var at = Math.max(0, WINDOW_ORDER.indexOf(preset ? preset.value : "")); // custom: as none
    setWindow(WINDOW_ORDER[(at + 1) % WINDOW_ORDER.length]);
  }

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
    save();
  }

  function reset() {
    v.scale = 1; v.x = 0; v.y = 0;
    brightness.value = 100; contrast.value = 100;
    if (preset) preset.value = "";
    apply();
    savePref(prefKey, null);
  }

  function show(i) {
    if (!img || !images.length) return;
    v.index = (i + images.length) % images.length;
    $("image-error").hidden = true;
    img.src = images[v.index].url;
    var label = interpolate(gettext("Image %(n)s of %(total)s"), { n: v.index + 1, total: images.length }, true);
    img.alt = label;
    v.x = 0; v.y = 0; // the expert's zoom, brightness and contrast stay; the pan starts centred
    apply();
    thumbs.forEach(function (t, n) {
      t.classList.toggle("active", n === v.index);
      t.setAttribute("aria-pressed", n === v.index ? "true" : "false");
    });
    var count = $("image-count");
    if (count) count.textContent = label;
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
  var slid = function () {
    if (preset) preset.value = "custom"; // the sliders moved off the preset
    apply();
    save();
  };
  brightness.addEventListener("input", slid);
  contrast.addEventListener("input", slid);
  if (preset) {
    preset.addEventListener("change", function () { setWindow(preset.value); });
  }
  thumbs.forEach(function (t) {
    t.addEventListener("click", function () { show(parseInt(t.dataset.index, 10)); });
  });
  restoreSettings();
  apply();
  return {
    zoomIn: function () { zoom(STEP); },
    zoomOut: function () { zoom(1 / STEP); },
    reset: reset,
    cycleWindow: cycleWindow,
    next: function () { if (images.length > 1) show(v.index + 1); },
    previous: function () { if (images.length > 1) show(v.index - 1); },
  };
}
