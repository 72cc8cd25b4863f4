/**
 * Append-only, hash-chained audit trail. Each record carries the SHA-256 of its predecessor,
 * so any edit to a past row breaks the chain at that row (see verifyChain). The plain chain alone
 * can be recomputed by anyone who can write the database, so each record also carries an
 * HMAC-SHA256 of its hash under the audit key, which lives outside the database (./key.ts):
 * a rewritten row, even with the whole chain after it recomputed, fails verification.
 * Records reference studies and findings by UID/id only: never patient names or other PHI.
 */
import crypto from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, Store } from '../db/database.js';
import { auditKeyOf, readHead, writeHead } from './key.js';
import { advisoryXactLock } from '../db/dialect.js';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEvent {
  actor: string;
  role?: string | null;
  action: string;
  /** DICOM EventOutcomeIndicator: 0 success, 4 minor failure, 8 serious failure, 12 major failure */
  outcome?: 0 | 4 | 8 | 12;
  studyUID?: string | null;
  findingId?: string | null;
  detail?: unknown;
}

export interface AuditRecord {
  seq: number;
  at: string;
  actor: string;
  role: string | null;
  action: string;
  outcome: number;
  study_uid: string | null;
  finding_id: string | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
  mac: string | null;
}

/** The hash covers every field but `hash` itself, in a fixed order. */
export function hashRecord(r: Omit<AuditRecord, 'hash' | 'seq' | 'mac'> & { seq?: number }): string {
  const canonical = JSON.stringify([r.at, r.actor, r.role, r.action, r.outcome, r.study_uid, r.finding_id, r.detail, r.prev_hash]);
  return crypto.createHash('sha256').update(canonical).digest('hex');
}

/** The record's MAC: HMAC-SHA256 of its hash (which covers its content and its predecessor's hash). */
export function macRecord(hash: string, key: Buffer): string {
  return crypto.createHmac('sha256', key).update(hash).digest('hex');
}

/**
 * Appends one record inside the caller's transaction (the chain's tip read under the `audit` lock,
 * which PostgreSQL holds until that transaction ends). The checkpoint outside the database is the
 * caller's to write once the transaction has committed (see withAudit).
 */
async function appendIn(trx: Transaction<DB>, key: Buffer, events: readonly AuditEvent[]): Promise<{ seq: number; hash: string } | null> {
  if (!events.length) return null;
  // Appends are serialised so the chain stays linear: SQLite has one writer; on PostgreSQL every append
  // takes the advisory lock `audit` (released at commit), so two gateways never read the same tip.
  await advisoryXactLock(trx, 'audit');
  const last = await trx.selectFrom('audit').select(['hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  let prev = last?.hash ?? GENESIS_HASH;
  let written: { seq: number; hash: string } | null = null;
  for (const ev of events) {
    const row = {
      at: new Date().toISOString(),
      actor: ev.actor,
      role: ev.role ?? null,
      action: ev.action,
      outcome: ev.outcome ?? 0,
      study_uid: ev.studyUID ?? null,
      finding_id: ev.findingId ?? null,
      detail: ev.detail === undefined ? null : JSON.stringify(ev.detail),
      prev_hash: prev,
    };
    const hash = hashRecord(row);
    const { seq } = await trx.insertInto('audit').values({ ...row, hash, mac: macRecord(hash, key) }).returning('seq').executeTakeFirstOrThrow();
    written = { seq: Number(seq), hash };
    prev = hash;
  }
  return written;
}

export async function appendAudit(db: Kysely<DB>, ev: AuditEvent): Promise<void> {
  await withAudit(db, async () => ({ value: undefined, audit: ev }));
}

/**
 * Runs `fn` and appends the audit record(s) it returns in one transaction: the act and its records commit
 * together or not at all (a process killed between two transactions left an act unrecorded). The
 * audit lock is taken last, after the act's own writes, so it is held only for the append and commit.
 */
export async function withAudit<T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<{ value: T; audit: AuditEvent | readonly AuditEvent[] | null }>): Promise<T> {
  const k = auditKeyOf(db);
  const { value, written } = await db.transaction().execute(async (trx) => {
    const r = await fn(trx);
    const events = r.audit === null ? [] : Array.isArray(r.audit) ? (r.audit as readonly AuditEvent[]) : [r.audit as AuditEvent];
    return { value: r.value, written: await appendIn(trx, k.key, events) };
  });
  // The checkpoint outside the database: deleting the newest records is noticed too. Not awaited: the
  // record is committed, and the append (often on a request's path, after the change it records) must
  // not wait behind file work in libuv's pool, which scrypt log-ins share. The store's close waits for it.
  if (written) void writeHead(k, written.seq, written.hash);
  return value;
}

/**
 * Checks the chain's newest records against the checkpoint outside the database: the record it names
 * must still be there, with the same hash. Null when they agree or there is no checkpoint.
 */
export function checkHead(records: Pick<AuditRecord, 'seq' | 'hash'>[], k: Parameters<typeof readHead>[0]): { brokenSeq: number; reason: string } | null {
  const { head, error } = readHead(k);
  if (error) return { brokenSeq: records.length ? records[records.length - 1].seq : 0, reason: `${error} (${k.headFile})` };
  if (!head) return null;
  const rec = records.find((r) => r.seq === head.seq);
  if (!rec) return { brokenSeq: head.seq, reason: `record seq=${head.seq}, the newest in the checkpoint outside the database, is gone: the newest records were deleted` };
  if (rec.hash !== head.hash) return { brokenSeq: head.seq, reason: 'record does not match the checkpoint outside the database' };
  return null;
}

export type ChainCheck = { ok: true; count: number } | { ok: false; count: number; brokenSeq: number; reason: string };

/** Does this record's MAC hold under the key? (Content and link are checked by hashRecord/prev_hash.) */
export function macValid(r: Pick<AuditRecord, 'hash' | 'mac'>, key: Buffer): boolean {
  if (!r.mac || !/^[0-9a-f]{64}$/.test(r.mac)) return false;
  return crypto.timingSafeEqual(Buffer.from(r.mac, 'hex'), Buffer.from(macRecord(r.hash, key), 'hex'));
}

/**
 * Walks the chain; names the first record whose link, hash or MAC does not hold. `from` is the hash the
 * first record must link to (GENESIS_HASH for the whole chain; the predecessor's hash for a range).
 * Without `key` only the plain chain is checked (and that every record has a MAC): anyone with database
 * access can recompute that, so `npm run audit:verify` and the export always pass the key.
 */
export function verifyChain(records: AuditRecord[], key?: Buffer, from: string = GENESIS_HASH): ChainCheck {
  let prev = from;
  for (const r of records) {
    if (r.prev_hash !== prev) return { ok: false, count: records.length, brokenSeq: r.seq, reason: 'prev_hash does not match the previous record' };
    if (hashRecord(r) !== r.hash) return { ok: false, count: records.length, brokenSeq: r.seq, reason: 'record content does not match its hash' };
    if (!r.mac) return { ok: false, count: records.length, brokenSeq: r.seq, reason: 'record has no MAC' };
    if (key && !macValid(r, key)) return { ok: false, count: records.length, brokenSeq: r.seq, reason: 'MAC does not match (record rewritten, or verified with another key)' };
    prev = r.hash;
  }
  return { ok: true, count: records.length };
}

/**
 * Records written before the audit MAC existed have none. When the key was created by this process
 * (its first keyed start), such records are sealed: if their plain chain holds, each gets its MAC now.
 * Only then: a database writer who strips MACs later cannot get them re-sealed by a restart, since the
 * key already exists. The append-only triggers are lifted for this one UPDATE, in one transaction.
 */
export async function sealLegacyAudit(store: Store): Promise<{ sealed: number; skipped?: string }> {
  let k;
  try {
    k = auditKeyOf(store.db);
  } catch {
    return { sealed: 0, skipped: 'no key' };
  }
  if (!k.created) return { sealed: 0, skipped: 'key not new' };
  const { db, dialect } = store;
  let legacy;
  try {
    legacy = await db.selectFrom('audit').select('seq').where('mac', 'is', null).limit(1).executeTakeFirst();
  } catch {
    return { sealed: 0, skipped: 'audit table not migrated yet' };
  }
  k.created = false;
  if (!legacy) return { sealed: 0 };
  const rows = await db.selectFrom('audit').selectAll().orderBy('seq').execute();
  let prev = GENESIS_HASH;
  for (const r of rows) {
    if (r.prev_hash !== prev || hashRecord(r) !== r.hash) return { sealed: 0, skipped: `plain chain broken at seq=${r.seq}` };
    prev = r.hash;
  }
  const todo = rows.filter((r) => !r.mac);
  await db.transaction().execute(async (trx) => {
    if (dialect === 'sqlite') await sql`DROP TRIGGER IF EXISTS audit_no_update`.execute(trx);
    else await sql`ALTER TABLE audit DISABLE TRIGGER audit_no_change`.execute(trx);
    for (const r of todo) await trx.updateTable('audit').set({ mac: macRecord(r.hash, k.key) }).where('seq', '=', r.seq).execute();
    if (dialect === 'sqlite') await sql`CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END`.execute(trx);
    else await sql`ALTER TABLE audit ENABLE TRIGGER audit_no_change`.execute(trx);
  });
  const newest = rows[rows.length - 1];
  await writeHead(k, newest.seq, newest.hash);
  return { sealed: todo.length };
}
