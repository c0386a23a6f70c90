/* The rating page: keyboard for everything, an image viewer, drafts kept locally and on the
 * server, idempotent submits, active time. Native ES modules, no build step, no inline code:
 * the page's configuration comes from <script type="application/json" id="rate-config">.
 *
 *   page.js      configuration, elements, shared state, small helpers
 *   form.js      reading and filling the form, the current criterion, messages
 *   activity.js  active time
 *   drafts.js    drafts in this browser and on the server, restore on load
 *   submit.js    submit and retry with the same client id; errors keep the input
 *   dialogs.js   the skip and guidelines dialogs; the dark mode and question toggles
 *   viewer.js    image zoom, pan, brightness, contrast, window presets, thumbnails; kept per campaign
 *   keys.js      keyboard shortcuts, scrolling the text
 *
 * This module only wires them, in the order the listeners must run. */

import { startActiveTime } from "./activity.js";
import { wireDialogs, wireToggles } from "./dialogs.js";
import { changed, restore, saveOnLeave } from "./drafts.js";
import { firstMissing, focusCriterion, wireForm } from "./form.js";
import { wireKeys, wireTextScroll } from "./keys.js";
import { config, state } from "./page.js";
import { wireSubmit } from "./submit.js";
import { createViewer } from "./viewer.js";

if (config) {
  wireForm(changed);
  wireSubmit();
  wireDialogs();
  wireToggles();
  const viewer = createViewer(config.images, config.campaign);
  wireKeys(viewer);
  wireTextScroll();
  startActiveTime();
  saveOnLeave();

  restore();
  const start = firstMissing();
  focusCriterion(start === -1 ? 0 : start);
  // Expose a little for tests and for the curious; nothing here is secret.
  window.rateState = {
    activeSeconds: function () { return state.activeSeconds; },
    clientId: function () { return state.pendingId; },
  };
}
