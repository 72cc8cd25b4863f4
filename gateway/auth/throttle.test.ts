import { describe, expect, it } from 'vitest';
import { createLoginThrottle } from './throttle.js';

describe('log-in throttle per IP', () => {
  it('refuses after maxFailures within the window, per address, and forgets after the window', () => {
    const t = createLoginThrottle({ maxFailures: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      expect(t.retryAfter('10.0.0.1', 1000 + i)).toBe(0);
      t.recordFailure('10.0.0.1', 1000 + i);
    }
    expect(t.retryAfter('10.0.0.1', 2000)).toBe(59);
    expect(t.retryAfter('10.0.0.2', 2000)).toBe(0);
    expect(t.retryAfter('10.0.0.1', 61_001)).toBe(0);
  });
  it('keeps memory bounded', () => {
    const t = createLoginThrottle({ maxFailures: 1, windowMs: 60_000, maxTracked: 2 });
    t.recordFailure('a', 1);
    t.recordFailure('b', 1);
    t.recordFailure('c', 1);
    expect(t.retryAfter('a', 2)).toBe(0);
    expect(t.retryAfter('c', 2)).toBeGreaterThan(0);
  });
});
