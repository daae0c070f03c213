/* window.hallq: what a page shows of itself to its tests and to whoever opens the browser's
 * console (hallq.voice, hallq.live, hallq.manager, ...). The modules import it; nothing else is global. */
export const hallq = (window.hallq = window.hallq || {});
