/**
 * Log-in throttling, kept in the database so every gateway sharing it sees the same counts (an attacker
 * spreading tries over N gateways behind a load balancer gets no N-fold budget). After `maxFailures`
 * failed log-ins for one key (a client IP; a user name that is no user) within `windowMs`, log-ins for
 * that key are refused (429 with Retry-After) until the oldest failure leaves the window.
 * Complements the per-user lock-out: that stops guessing one password, the per-IP scope stops spraying
 * many user names. Successful log-ins are not counted (a ward sharing one NAT address is not throttled
 * by normal use) and do not reset the count either (an attacker with one valid account could otherwise
 * interleave). Keys are stored as SHA-256 hashes: what someone typed as a user name (sometimes a
 * password) never lands in the database.
 */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';

export interface LoginFailuresTable {
  /** 'ip' | 'name' */
  scope: string;
  /** SHA-256 (hex) of scope + key */
  key_hash: string;
  /** When the failure happened, ms since the epoch (a number: compared as one on both dialects). */
  at_ms: number;
}

declare module '../db/database.js' {
  interface DB {
    login_failures: LoginFailuresTable;
  }
}

export interface LoginThrottle {
  /** Seconds to wait, or 0 when this key may try. */
  retryAfter(key: string, now?: number): Promise<number>;
  recordFailure(key: string, now?: number): Promise<void>;
}

const hashKey = (scope: string, key: string) => crypto.createHash('sha256').update(`${scope}\0${key}`).digest('hex');

export function createLoginThrottle(db: Kysely<DB>, opts: { scope: string; maxFailures: number; windowMs: number }): LoginThrottle {
  if (!(opts.maxFailures >= 1) || !(opts.windowMs > 0)) throw new Error(`log-in throttle ${opts.scope}: maxFailures must be >= 1 and windowMs > 0 (got ${opts.maxFailures}, ${opts.windowMs})`);
  return {
    async retryAfter(key, now = Date.now()) {
      const recent = await db
        .selectFrom('login_failures')
        .select('at_ms')
        .where('scope', '=', opts.scope)
        .where('key_hash', '=', hashKey(opts.scope, key))
        .where('at_ms', '>', now - opts.windowMs)
        .orderBy('at_ms', 'desc')
        .limit(opts.maxFailures)
        .execute();
      if (recent.length < opts.maxFailures) return 0;
      // The oldest of the newest maxFailures failures: when it leaves the window, one more try is allowed.
      const oldest = Number(recent[recent.length - 1].at_ms);
      return Math.max(1, Math.ceil((oldest + opts.windowMs - now) / 1000));
    },
    async recordFailure(key, now = Date.now()) {
      await db.insertInto('login_failures').values({ scope: opts.scope, key_hash: hashKey(opts.scope, key), at_ms: now }).execute();
      // Bounded storage: failures older than the window count for nothing any more.
      await db.deleteFrom('login_failures').where('scope', '=', opts.scope).where('at_ms', '<=', now - opts.windowMs).execute();
    },
  };
}
