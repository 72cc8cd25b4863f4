/**
 * Append-only, hash-chained audit trail. Each record carries the SHA-256 of its predecessor,
 * so any edit to a past row breaks the chain at that row (see verifyChain).
 * Records reference studies and findings by UID/id only: never patient names or other PHI.
 */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';

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
}

/** The hash covers every field but `hash` itself, in a fixed order. */
export function hashRecord(r: Omit<AuditRecord, 'hash' | 'seq'> & { seq?: number }): string {
  const canonical = JSON.stringify([r.at, r.actor, r.role, r.action, r.outcome, r.study_uid, r.finding_id, r.detail, r.prev_hash]);
  return crypto.createHash('sha256').update(canonical).digest('hex');
}

export async function appendAudit(db: Kysely<DB>, ev: AuditEvent): Promise<void> {
  // A transaction serialises appends so the chain stays linear (SQLite: one writer; Postgres: row lock on the tip).
  await db.transaction().execute(async (trx) => {
    const last = await trx.selectFrom('audit').select(['hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    const row = {
      at: new Date().toISOString(),
      actor: ev.actor,
      role: ev.role ?? null,
      action: ev.action,
      outcome: ev.outcome ?? 0,
      study_uid: ev.studyUID ?? null,
      finding_id: ev.findingId ?? null,
      detail: ev.detail === undefined ? null : JSON.stringify(ev.detail),
      prev_hash: last?.hash ?? GENESIS_HASH,
    };
    await trx.insertInto('audit').values({ ...row, hash: hashRecord(row) }).execute();
  });
}

export type ChainCheck = { ok: true; count: number } | { ok: false; count: number; brokenSeq: number; reason: string };

/** Walks the chain; names the first record whose hash or link does not hold. */
export function verifyChain(records: AuditRecord[]): ChainCheck {
  let prev = GENESIS_HASH;
  for (const r of records) {
    if (r.prev_hash !== prev) return { ok: false, count: records.length, brokenSeq: r.seq, reason: 'prev_hash does not match the previous record' };
    if (hashRecord(r) !== r.hash) return { ok: false, count: records.length, brokenSeq: r.seq, reason: 'record content does not match its hash' };
    prev = r.hash;
  }
  return { ok: true, count: records.length };
}
