/**
 * Keys the reader presses between opening a study and the viewer becoming interactive (its code is
 * still loading: two to three seconds on a small machine, with the preview already on screen) are
 * kept and replayed in order once Cornerstone has drawn the first image, instead of being lost. A
 * reader who opens a study and presses ↓ three times lands on slice 4, as in a desktop viewer.
 *
 * Bounded so that nothing surprising happens late: at most MAX_KEYS, none older than MAX_AGE_MS, and
 * the capture stops by itself after MAX_AGE_MS if the viewer never gets ready (a study that fails to
 * open leaves the keyboard to the page, not to this queue). No dependencies: the boot entry imports it.
 */
export interface EarlyKey {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  at: number;
}

export const MAX_KEYS = 40;
export const MAX_AGE_MS = 10_000;
const MODIFIERS = new Set(['Shift', 'Control', 'Alt', 'Meta', 'AltGraph', 'CapsLock']);

let queue: EarlyKey[] | null = null;
let stopTimer: ReturnType<typeof setTimeout> | null = null;

/** Keys typed into a field are text, not commands (the viewer's key handler uses the same rule). */
export function typingInto(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

function onKey(e: KeyboardEvent): void {
  if (!queue || typingInto(e.target) || MODIFIERS.has(e.key)) return;
  if (queue.length < MAX_KEYS) queue.push({ key: e.key, ctrlKey: e.ctrlKey, metaKey: e.metaKey, altKey: e.altKey, shiftKey: e.shiftKey, at: performance.now() });
}

function stop(): void {
  window.removeEventListener('keydown', onKey, true);
  if (stopTimer) clearTimeout(stopTimer);
  stopTimer = null;
  queue = null;
}

/** Starts keeping keys (idempotent): on a viewer deep link at boot, and when the worklist opens a study. */
export function startEarlyKeys(): void {
  if (queue) return;
  queue = [];
  window.addEventListener('keydown', onKey, true);
  stopTimer = setTimeout(stop, MAX_AGE_MS);
}

/** True while keys are being kept: the viewer's own key handler leaves them to the replay. */
export function earlyKeysActive(): boolean {
  return queue !== null;
}

/** Stops keeping keys and returns those still fresh, oldest first. */
export function takeEarlyKeys(now = performance.now()): EarlyKey[] {
  const kept = queue ?? [];
  stop();
  return kept.filter((k) => now - k.at <= MAX_AGE_MS);
}
