/**
 * "The viewer has put its first image on screen and is ready to read", for work that must not
 * compete with it (alerts panel, its live connection, AI). Lives in the shell so that waiting costs
 * no viewer chunk. The performance mark is earlier when the shell's preview draws the first image;
 * this signal waits for the interactive (Cornerstone) viewport, since that is what the deferred work
 * would otherwise slow down.
 */
export const FIRST_IMAGE_MARK = 'viewer:first-image';
const EVENT = 'rs:first-image';

/** Called by the viewer right after it marks the first image. */
let shown = false;
export function notifyFirstImage(): void {
  shown = true;
  window.dispatchEvent(new Event(EVENT));
}

export function firstImageShown(): boolean {
  return shown;
}

/** A new study is opening: its own first image is awaited again (AI waits for it, not the last one's). */
export function resetFirstImage(): void {
  shown = false;
}

/** Resolves once a first image has been shown on this page, or after `maxWaitMs` regardless. */
export function afterFirstImage(maxWaitMs: number): { promise: Promise<void>; cancel(): void } {
  let cancel = () => {};
  const promise = new Promise<void>((resolve) => {
    if (shown) return resolve();
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
