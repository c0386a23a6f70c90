/* The image viewer: zoom (buttons, wheel about the pointer, double click), pan by dragging,
 * brightness and contrast, and the thumbnails of an item with several images. */

import { $ } from "./page.js";

const MIN = 0.25, MAX = 16, STEP = 1.25;

/** Wire the viewer to the page's elements; returns what the keyboard drives. */
export function createViewer(images) {
  var stage = $("stage");
  var img = $("main-image");
  var brightness = $("brightness");
  var contrast = $("contrast");
  var zoomLabel = $("zoom-level");
  var thumbs = Array.prototype.slice.call(document.querySelectorAll(".thumb"));
  images = images || [];
  var v = { scale: 1, x: 0, y: 0, index: 0 };

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
}
