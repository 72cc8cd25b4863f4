import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { afterStackCached, notifyStackCached, resetFirstImage, stackCached } from './firstImage';

describe('stack-cached signal (what AI waits for)', () => {
  // The module signals on `window`; in Node an EventTarget stands in for it.
  beforeAll(() => void ((globalThis as unknown as { window: EventTarget }).window = new EventTarget()));
  afterEach(() => resetFirstImage());
  it('resolves waiters once, and at once for late ones', async () => {
    const order: string[] = [];
    const early = afterStackCached().promise.then(() => order.push('early'));
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(stackCached()).toBe(false);
    notifyStackCached();
    notifyStackCached(); // idempotent
    await early;
    await afterStackCached().promise.then(() => order.push('late'));
    expect(order).toEqual(['early', 'late']);
    expect(performance.getEntriesByName('viewer:stack-cached').length).toBe(1);
  });
  it('a new study waits again', async () => {
    notifyStackCached();
    resetFirstImage();
    expect(stackCached()).toBe(false);
    let resolved = false;
    void afterStackCached().promise.then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(resolved).toBe(false);
    notifyStackCached();
    await new Promise((r) => setTimeout(r, 0));
    expect(resolved).toBe(true);
  });
});
