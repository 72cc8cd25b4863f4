import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLoginThrottle } from './throttle.js';
import { openStore, type Store } from '../db/database.js';
import { migrate } from '../db/migrations.js';

// The throttle lives in the database (shared by every gateway): tested against a real SQLite database in memory.
let store: Store;
beforeEach(async () => {
  store = await openStore(':memory:', {});
  await migrate(store);
});
afterEach(async () => {
  await store.close();
});

describe('log-in throttle (in the database)', () => {
  it('refuses after maxFailures within the window, per key, and forgets after the window', async () => {
    const t = createLoginThrottle(store.db, { scope: 'ip', maxFailures: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      expect(await t.retryAfter('10.0.0.1', 1000 + i)).toBe(0);
      await t.recordFailure('10.0.0.1', 1000 + i);
    }
    expect(await t.retryAfter('10.0.0.1', 2000)).toBe(59);
    expect(await t.retryAfter('10.0.0.2', 2000)).toBe(0);
    expect(await t.retryAfter('10.0.0.1', 61_001)).toBe(0);
  });
  it('two throttles on one database (two gateways) share the count; scopes do not mix', async () => {
    const a = createLoginThrottle(store.db, { scope: 'ip', maxFailures: 2, windowMs: 60_000 });
    const b = createLoginThrottle(store.db, { scope: 'ip', maxFailures: 2, windowMs: 60_000 });
    const names = createLoginThrottle(store.db, { scope: 'name', maxFailures: 1, windowMs: 60_000 });
    await a.recordFailure('10.0.0.9', 10);
    await b.recordFailure('10.0.0.9', 20);
    expect(await a.retryAfter('10.0.0.9', 30)).toBe(60);
    expect(await b.retryAfter('10.0.0.9', 30)).toBe(60);
    expect(await names.retryAfter('10.0.0.9', 30)).toBe(0);
  });
  it('stores no key in clear, and deletes failures that left the window', async () => {
    const t = createLoginThrottle(store.db, { scope: 'name', maxFailures: 5, windowMs: 1000 });
    await t.recordFailure('my-password-typed-as-name', 1);
    const rows = await store.db.selectFrom('login_failures').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain('my-password');
    await t.recordFailure('someone-else', 5000);
    expect(await store.db.selectFrom('login_failures').selectAll().execute()).toHaveLength(1);
  });
  it('refuses a nonsensical configuration with a clear error', () => {
    expect(() => createLoginThrottle(store.db, { scope: 'ip', maxFailures: Number('x'), windowMs: 1000 })).toThrow(/maxFailures must be >= 1/);
  });
});
