/**
 * "The viewer has put its first image on screen", for work that must not compete with it (alerts
 * panel, its live connection). Lives in the shell so that waiting costs no viewer chunk.
 */
export const FIRST_IMAGE_MARK = 'viewer:first-image';
const EVENT = 'rs:first-image';

/** Called by the viewer right after it marks the first image. */
export function notifyFirstImage(): void {
  window.dispatchEvent(new Event(EVENT));
}

/** Resolves once a first image has been shown on this page, or after `maxWaitMs` regardless. */
export function afterFirstImage(maxWaitMs: number): { promise: Promise<void>; cancel(): void } {
  let cancel = () => {};
  const promise = new Promise<void>((resolve) => {
    if (performance.getEntriesByName(FIRST_IMAGE_MARK).length) return resolve();
    const done = () => {
      cancel();
      resolve();
    };
    const t = setTimeout(done, maxWaitMs);
    window.addEventListener(EVENT, done);
    cancel = () => {
      clearTimeout(t);
      window.removeEventListener(EVENT, done);
    };
  });
  return { promise, cancel: () => cancel() };
}
