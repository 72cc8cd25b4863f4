/**
 * Password checks: an unknown user costs the same scrypt as a known user's wrong password (no
 * user-name timing oracle), and scrypt runs off the event loop (a log-in never stalls other requests).
 * Real scrypt throughout; the spy on crypto.scrypt only counts calls and passes them through.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import crypto from 'node:crypto';
import { dummyPasswordHash, hashPassword, hashPasswordAsync, verifyLogin, verifyPassword } from './passwords.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

afterEach(() => vi.restoreAllMocks());

describe('password verification', () => {
  const stored = hashPassword('correct horse battery staple');

  it('accepts the right password, refuses a wrong one and an unknown user', async () => {
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('wrong', stored)).toBe(false);
    expect(await verifyLogin('correct horse battery staple', stored)).toBe(true);
    expect(await verifyLogin('wrong', stored)).toBe(false);
    expect(await verifyLogin('correct horse battery staple', undefined)).toBe(false);
    expect(await verifyPassword('x', await hashPasswordAsync('x'))).toBe(true);
  });

  it('an unknown user runs the same scrypt as a known one (the dummy hash has the same parameters)', async () => {
    dummyPasswordHash(); // built once, outside the counted calls
    const spy = vi.spyOn(crypto, 'scrypt');
    await verifyLogin('guess', undefined);
    expect(spy).toHaveBeenCalledTimes(1);
    const unknownArgs = spy.mock.calls[0];
    await verifyLogin('guess', stored);
    expect(spy).toHaveBeenCalledTimes(2);
    const knownArgs = spy.mock.calls[1];
    // Same key length and cost parameters (N, r, p): the same work.
    expect(unknownArgs[2]).toBe(knownArgs[2]);
    const opts = (a: unknown[]) => { const o = a[3] as crypto.ScryptOptions; return [o.N, o.r, o.p]; };
    expect(opts(unknownArgs)).toEqual(opts(knownArgs));
    expect(dummyPasswordHash().split('$').slice(0, 4)).toEqual(stored.split('$').slice(0, 4));
    // A malformed stored hash costs one scrypt too.
    await verifyLogin('guess', 'not-a-hash');
    expect(spy).toHaveBeenCalledTimes(3);
  });

  it('unknown-user and wrong-password checks take comparable time (medians over several tries)', async () => {
    await verifyLogin('warm-up', undefined);
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 9; i++) {
      unknown.push(await timed(() => verifyLogin(`guess-${i}`, undefined)));
      wrong.push(await timed(() => verifyLogin(`guess-${i}`, stored)));
    }
    const mu = median(unknown), mw = median(wrong);
    // scrypt at N=16384 costs milliseconds; a fast path for unknown users would be microseconds.
    expect(mw).toBeGreaterThan(3);
    expect(mu).toBeGreaterThan(mw / 2.5);
    expect(mu).toBeLessThan(mw * 2.5);
  });

  it('keeps the event loop responsive while scrypt runs', async () => {
    // How long one scrypt blocks when run synchronously, on this machine, now.
    const t0 = performance.now();
    crypto.scryptSync('x', 'salt-salt-salt-s', 32, { N: 16384, r: 8, p: 1 });
    const syncMs = performance.now() - t0;

    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 1);
    // Four log-ins at once: run synchronously they would block the loop for 4 × syncMs in a row.
    await Promise.all([verifyLogin('a', stored), verifyLogin('b', stored), verifyLogin('c', stored), verifyLogin('d', undefined)]);
    clearInterval(timer);
    maxGap = Math.max(maxGap, performance.now() - last); // the stretch since the last tick counts too
    expect(maxGap).toBeLessThan(Math.max(syncMs * 1.5, 15));
  });

  it('refuses a stored hash with absurd cost parameters without running it', async () => {
    const [alg, , r, p, salt, hash] = stored.split('$');
    expect(await verifyPassword('x', [alg, String(1 << 24), r, p, salt, hash].join('$'))).toBe(false);
  });
});
