/* Active time: the seconds the expert spent on the item, counted while the page is visible
 * and was used in the last minute. Sent with every draft and submit. */

import { state } from "./page.js";

// Count the time since the last tick when the page is visible and was used in the last
// minute; called every second and right before a draft or a submit is sent.
export function tick() {
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

export function startActiveTime() {
  ["keydown", "pointerdown", "wheel", "input", "scroll"].forEach(function (name) {
    document.addEventListener(name, touched, { capture: true, passive: true });
  });
  var lastMove = 0;
  document.addEventListener("pointermove", function () {
    var now = Date.now();
    if (now - lastMove > 1000) { lastMove = now; touched(); }
  }, { passive: true });

  setInterval(tick, 1000);

  // Registered before the drafts' own listener (drafts.js), which saves after this count.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") tick(); // count up to the moment it was hidden
    state.lastTick = Date.now();
  });
}
