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

/**
 * "Every image of the opening series is decoded (or known to be unreadable)": from then on the
 * reader scrolls from memory, and work as heavy as AI inference no longer slows the stack's decode
 * on a small machine.
 */
const CACHED_EVENT = 'rs:stack-cached';
let cached = false;
export function notifyStackCached(): void {
  if (cached) return;
  cached = true;
  performance.mark('viewer:stack-cached');
  window.dispatchEvent(new Event(CACHED_EVENT));
}

export function stackCached(): boolean {
  return cached;
}


/** A new study is opening: its own first image is awaited again (AI waits for it, not the last one's). */
export function resetFirstImage(): void {
  shown = false;
  cached = false;
}

interface Wait {
  promise: Promise<void>;
  cancel(): void;
}

/** Resolves once `isSet()` (told by `event`), or after `maxWaitMs` regardless when given. */
function afterSignal(isSet: () => boolean, event: string, maxWaitMs?: number): Wait {
  let cancel = () => {};
  const promise = new Promise<void>((resolve) => {
    if (isSet()) return resolve();
    const done = () => {
      cancel();
      resolve();
    };
    const t = maxWaitMs === undefined ? undefined : setTimeout(done, maxWaitMs);
    window.addEventListener(event, done);
    cancel = () => {
      clearTimeout(t);
      window.removeEventListener(event, done);
    };
  });
  return { promise, cancel: () => cancel() };
}

/** Resolves once a first image has been shown on this page, or after `maxWaitMs` regardless. */
export function afterFirstImage(maxWaitMs: number): Wait {
  return afterSignal(() => shown, EVENT, maxWaitMs);
}

/** Resolves once the opening stack is cached (see notifyStackCached), or after `maxWaitMs` when given. */
export function afterStackCached(maxWaitMs?: number): Wait {
  return afterSignal(() => cached, CACHED_EVENT, maxWaitMs);
}
