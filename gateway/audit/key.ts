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
  /**
   * The checkpoint file outside the database (the newest record's seq and hash, with a MAC): beside the
   * key file, or beside the database when the key comes from AUDIT_KEY; null for in-memory and PostgreSQL
   * databases with AUDIT_KEY. It lets verification notice the newest records deleted (a truncated tail).
   */
  headFile: string | null;
  /** The newest seq this process wrote to the checkpoint (it never moves back). */
  headSeq?: number;
  /** The newest record waiting for the checkpoint, and the write running now (writeHead coalesces). */
  headPending?: { seq: number; hash: string };
  headFlush?: Promise<void>;
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
  if (opts.key) {
    const beside = defaultKeyFile(database);
    return { key: parseKey(opts.key, 'AUDIT_KEY'), source: 'env', created: false, headFile: beside ? beside.replace(/\.audit-key$/, '.audit-head') : null };
  }
  const file = opts.keyFile ? path.resolve(opts.keyFile) : defaultKeyFile(database);
  if (!file) {
    if (database === ':memory:') return { key: crypto.randomBytes(32), source: 'memory', created: true, headFile: null };
    throw new AuditKeyError('a database that is not a file needs AUDIT_KEY or AUDIT_KEY_FILE (the audit key must live outside the database)');
  }
  if (fs.existsSync(file)) {
    const st = fs.statSync(file);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new AuditKeyError(`audit key file ${file} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    return { key: parseKey(fs.readFileSync(file, 'utf8'), file), source: file, created: false, headFile: file + '.head' };
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
  return { key: Buffer.from(hex, 'hex'), source: file, created: true, headFile: file + '.head' };
}

export interface AuditHead {
  seq: number;
  hash: string;
  mac: string;
}

const headMac = (key: Buffer, seq: number, hash: string) => crypto.createHmac('sha256', key).update(`audit-head:${seq}:${hash}`).digest('hex');

/**
 * Records the newest record in the checkpoint file (written whole, then renamed over the old one; mode
 * 0600). Called after each append commits; resolves once a checkpoint at least as new as `seq` is on
 * disk. The file work is asynchronous (off the event loop) and coalesced: appends that commit while a
 * write is running are covered by one more write of the newest of them, not one each (bench:outbox:
 * a synchronous write and rename per append took a tenth of the gateway's busy time). A failure to
 * write is not an audit failure: the record is in. A checkpoint a few records behind names a record
 * that is still there, so it never raises a false alarm; it only narrows what a truncation would hide.
 */
export function writeHead(k: AuditKey, seq: number, hash: string): Promise<void> {
  if (!k.headFile || (k.headSeq !== undefined && seq <= k.headSeq)) return Promise.resolve();
  if (!k.headPending || seq > k.headPending.seq) k.headPending = { seq, hash };
  return (k.headFlush ??= flushHead(k).finally(() => (k.headFlush = undefined)));
}

/** Resolves once the checkpoint writes started so far are done (the store's close waits for it). */
export function headSettled(k: AuditKey): Promise<void> {
  return k.headFlush ?? Promise.resolve();
}

async function flushHead(k: AuditKey): Promise<void> {
  while (k.headPending) {
    const { seq, hash } = k.headPending;
    k.headPending = undefined;
    if (k.headSeq !== undefined && seq <= k.headSeq) continue;
    try {
      const current = await readHeadAsync(k);
      if (current.head && current.head.seq > seq) continue; // another process wrote a newer one
      const tmp = `${k.headFile}.${process.pid}.tmp`;
      await fs.promises.writeFile(tmp, JSON.stringify({ seq, hash, mac: headMac(k.key, seq, hash) }) + '\n', { mode: 0o600 });
      await fs.promises.rename(tmp, k.headFile!);
      k.headSeq = seq;
    } catch {
      /* the checkpoint is a second line of defence; the record itself is committed */
    }
  }
}

const parseHead = (k: AuditKey, text: string): { head?: AuditHead; error?: string } => {
  const h = JSON.parse(text) as AuditHead;
  if (!Number.isInteger(h.seq) || typeof h.hash !== 'string' || typeof h.mac !== 'string') return { error: 'checkpoint malformed' };
  const ok = /^[0-9a-f]{64}$/.test(h.mac) && crypto.timingSafeEqual(Buffer.from(h.mac, 'hex'), Buffer.from(headMac(k.key, h.seq, h.hash), 'hex'));
  return ok ? { head: h } : { error: 'checkpoint MAC does not match' };
};

async function readHeadAsync(k: AuditKey): Promise<{ head?: AuditHead; error?: string }> {
  let text: string;
  try {
    text = await fs.promises.readFile(k.headFile!, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? {} : { error: 'checkpoint unreadable' };
  }
  try {
    return parseHead(k, text);
  } catch {
    return { error: 'checkpoint unreadable' };
  }
}

/** The checkpoint, if there is one; `error` when it exists but is not ours (bad MAC, unreadable). */
export function readHead(k: AuditKey): { head?: AuditHead; error?: string } {
  if (!k.headFile || !fs.existsSync(k.headFile)) return {};
  try {
    return parseHead(k, fs.readFileSync(k.headFile, 'utf8'));
  } catch {
    return { error: 'checkpoint unreadable' };
  }
}

/** The key of each open database handle (set by openStore). A WeakMap: closed stores take their key with them. */
// Keyed by the database handle of any schema: typing it with the gateway's DB would import db/database.ts, which imports this (a cycle).
const keys = new WeakMap<object, AuditKey>();

export function setAuditKey<T>(db: Kysely<T>, key: AuditKey): void {
  keys.set(db, key);
}

export function auditKeyOf<T>(db: Kysely<T>): AuditKey {
  const k = keys.get(db);
  if (!k) throw new AuditKeyError('no audit key for this database handle (open it with openStore)');
  return k;
}
