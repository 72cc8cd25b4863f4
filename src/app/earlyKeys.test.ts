import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_AGE_MS, MAX_KEYS, earlyKeysActive, startEarlyKeys, takeEarlyKeys } from './earlyKeys';

// The module listens on `window`; in Node an EventTarget stands in for it.
function press(key: string, init: { target?: object; shiftKey?: boolean } = {}): void {
  const e = Object.assign(new Event('keydown'), { key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: !!init.shiftKey });
  if (init.target) Object.defineProperty(e, 'target', { value: init.target });
  (globalThis as unknown as { window: EventTarget }).window.dispatchEvent(e);
}

describe('early keys (pressed while the viewer loads)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    (globalThis as unknown as { window: EventTarget }).window = new EventTarget();
  });
  afterEach(() => {
    takeEarlyKeys();
    vi.useRealTimers();
  });

  it('keeps keys in order and hands them over once, then stops keeping', () => {
    expect(earlyKeysActive()).toBe(false);
    startEarlyKeys();
    startEarlyKeys(); // idempotent: one listener, one queue
    press('ArrowDown');
    press('ArrowDown');
    press('Shift'); // modifiers alone are not commands
    press('2', { shiftKey: false });
    expect(earlyKeysActive()).toBe(true);
    expect(takeEarlyKeys().map((k) => k.key)).toEqual(['ArrowDown', 'ArrowDown', '2']);
    expect(earlyKeysActive()).toBe(false);
    press('ArrowDown');
    expect(takeEarlyKeys()).toEqual([]);
  });

  it('ignores typing into a field', () => {
    startEarlyKeys();
    press('a', { target: { tagName: 'INPUT' } });
    press('b', { target: { tagName: 'DIV', isContentEditable: true } });
    press('c', { target: { tagName: 'DIV', isContentEditable: false } });
    expect(takeEarlyKeys().map((k) => k.key)).toEqual(['c']);
  });

  it('is bounded: at most MAX_KEYS, none older than MAX_AGE_MS, and stops by itself', () => {
    startEarlyKeys();
    for (let i = 0; i < MAX_KEYS + 10; i++) press('ArrowDown');
    expect(takeEarlyKeys()).toHaveLength(MAX_KEYS);

    startEarlyKeys();
    press('ArrowUp');
    const at = performance.now();
    expect(takeEarlyKeys(at + MAX_AGE_MS + 1)).toEqual([]);

    startEarlyKeys();
    vi.advanceTimersByTime(MAX_AGE_MS + 1);
    // A viewer that never got ready: the keyboard is not held by the queue any longer.
    expect(earlyKeysActive()).toBe(false);
  });
});
