/**
 * The audit key: the secret under which every audit record carries an HMAC-SHA256. It lives OUTSIDE
 * the database, so someone who can write the database (and recompute the plain hash chain with SQL)
 * still cannot produce records that verify.
 *
 * Where it comes from, first match wins:
 *  1. `AUDIT_KEY` (env / config): 64 hex characters, or any string of at least 32 characters.
 *  2. `AUDIT_KEY_FILE` (env / config), or by default `<database>.audit-key` beside a SQLite database:
 *     read if present (it must not be readable by group or others); created with mode 0600 on first
 *     start otherwise (only where `create` is allowed: the gateway may, `audit:verify` may not).
 *  3. An in-memory database gets a random key for its lifetime.
 * A PostgreSQL database has no "beside": it needs AUDIT_KEY or AUDIT_KEY_FILE.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';

export interface AuditKeyOptions {
  /** The key itself (AUDIT_KEY). */
  key?: string;
  /** Where the key file is (AUDIT_KEY_FILE); default `<database>.audit-key`. */
  keyFile?: string;
  /** May a missing key file be created? (default true) */
  create?: boolean;
}

export interface AuditKey {
  key: Buffer;
  /** 'env', the key file's path, or 'memory'. */
  source: string;
  /** True when this call created the key file (a new key: older records may be sealed with it). */
  created: boolean;
}

export class AuditKeyError extends Error {}

export function parseKey(text: string, where: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (t.length >= 32) return Buffer.from(t, 'utf8');
  throw new AuditKeyError(`audit key from ${where} is too short: 64 hex characters or at least 32 characters`);
}

export function defaultKeyFile(database: string): string | null {
  if (database === ':memory:' || database.includes('://')) return null;
  return path.resolve(database) + '.audit-key';
}

export function resolveAuditKey(database: string, opts: AuditKeyOptions = {}): AuditKey {
  if (opts.key) return { key: parseKey(opts.key, 'AUDIT_KEY'), source: 'env', created: false };
  const file = opts.keyFile ? path.resolve(opts.keyFile) : defaultKeyFile(database);
  if (!file) {
    if (database === ':memory:') return { key: crypto.randomBytes(32), source: 'memory', created: true };
    throw new AuditKeyError('a database that is not a file needs AUDIT_KEY or AUDIT_KEY_FILE (the audit key must live outside the database)');
  }
  if (fs.existsSync(file)) {
    const st = fs.statSync(file);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new AuditKeyError(`audit key file ${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    return { key: parseKey(fs.readFileSync(file, 'utf8'), file), source: file, created: false };
  }
  if (opts.create === false) throw new AuditKeyError(`no audit key at ${file} (set AUDIT_KEY or AUDIT_KEY_FILE to the gateway's key)`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const hex = crypto.randomBytes(32).toString('hex');
  try {
    // 'wx': never overwrite a key another process created a moment ago.
    fs.writeFileSync(file, hex + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return resolveAuditKey(database, { ...opts, create: false });
    throw e;
  }
  return { key: Buffer.from(hex, 'hex'), source: file, created: true };
}

/** The key of each open database handle (set by openStore). A WeakMap: closed stores take their key with them. */
const keys = new WeakMap<Kysely<DB>, AuditKey>();

export function setAuditKey(db: Kysely<DB>, key: AuditKey): void {
  keys.set(db, key);
}

export function auditKeyOf(db: Kysely<DB>): AuditKey {
  const k = keys.get(db);
  if (!k) throw new AuditKeyError('no audit key for this database handle (open it with openStore)');
  return k;
}
