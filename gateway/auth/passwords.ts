/**
 * scrypt password hashing (Node's crypto; no native addon). Format: scrypt$N$r$p$salt$hash (base64).
 *
 * Verification runs scrypt asynchronously (libuv's thread pool), so a log-in never blocks the event
 * loop for the ~30–100 ms scrypt takes. A log-in for a user that does not exist verifies against a
 * dummy hash with the same parameters (`verifyLogin`), so it costs the same as a known user's wrong
 * password: the response time does not tell an attacker which user names exist.
 */
import crypto from 'node:crypto';

const N = 16384, R = 8, P = 1, KEYLEN = 32;
/** Stored hashes with parameters beyond these are refused (a crafted row must not make one log-in cost seconds). */
const MAX_N = 1 << 20, MAX_R = 32, MAX_P = 16;

function scryptAsync(password: string, salt: Buffer, keylen: number, opts: crypto.ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => crypto.scrypt(password, salt, keylen, { maxmem: 256 * 1024 * 1024, ...opts }, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Synchronous hashing, for seeding and scripts (start-up, not a request path). */
export function hashPassword(password: string): string {
  const salt = crypto.randomBytes(16);
  const hash = crypto.scryptSync(password, salt, KEYLEN, { N, r: R, p: P });
  return ['scrypt', N, R, P, salt.toString('base64'), hash.toString('base64')].join('$');
}

/** Hashing off the event loop, for request paths (password changes). */
export async function hashPasswordAsync(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scryptAsync(password, salt, KEYLEN, { N, r: R, p: P });
  return ['scrypt', N, R, P, salt.toString('base64'), hash.toString('base64')].join('$');
}

function parse(stored: string): { n: number; r: number; p: number; salt: Buffer; hash: Buffer } | null {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return null;
  const params = { n: Number(n), r: Number(r), p: Number(p) };
  if (![params.n, params.r, params.p].every(Number.isInteger)) return null;
  if (params.n < 2 || params.n > MAX_N || params.r < 1 || params.r > MAX_R || params.p < 1 || params.p > MAX_P) return null;
  const h = Buffer.from(hash, 'base64');
  if (h.length < 16 || h.length > 64) return null;
  return { ...params, salt: Buffer.from(salt, 'base64'), hash: h };
}

/** Verifies a password against a stored hash, asynchronously; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const s = parse(stored);
  if (!s) return false;
  const actual = await scryptAsync(password, s.salt, s.hash.length, { N: s.n, r: s.r, p: s.p });
  return crypto.timingSafeEqual(actual, s.hash);
}

/** A hash of a random secret nobody knows, with the current parameters: what an unknown user is checked against. */
let dummyHash: string | null = null;
export function dummyPasswordHash(): string {
  dummyHash ??= hashPassword(crypto.randomBytes(32).toString('base64url'));
  return dummyHash;
}

/**
 * The log-in check: `stored` is the user's hash, or undefined when no such user exists. Either way
 * one scrypt of the same cost runs, so both answers take the same time; an unknown user is never accepted.
 */
export async function verifyLogin(password: string, stored: string | undefined): Promise<boolean> {
  if (stored === undefined) {
    await verifyPassword(password, dummyPasswordHash());
    return false;
  }
  // A stored hash we cannot parse still costs one scrypt (no fast path that marks such accounts).
  if (!parse(stored)) {
    await verifyPassword(password, dummyPasswordHash());
    return false;
  }
  return verifyPassword(password, stored);
}
