/**
 * "In progress" as the server knows it: a reader opening a study to read it is recorded here, by the
 * server, when the study's findings are fetched for the viewer (GET /api/studies/:s/findings), never
 * from a client event. Who and when are the server's; the first open per reader is audited, and so is
 * every open that gave the reader a different set of AI findings than the last one audited (the record
 * governance counts for utilisation: src/core/governance/figures.ts, "studies where a radiologist opened
 * the AI findings"). Re-reads of the same findings (the viewer refreshing) update the row, not the audit.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { SessionUser } from '../../src/core/auth/roles.js';
import { can } from '../../src/core/auth/permissions.js';
import { withAudit } from '../audit/audit.js';
import '../findings/migrations.js';

/** How stale "last opened" may get before a re-open of the same findings by the same reader is written. */
const REOPEN_WRITE_MS = 60_000;

/** Roles whose opening makes a study "in progress": those who write its report (the one permission table). */
export const opensAsReader = (role: string | null | undefined): boolean => can(role, 'report.write');

/**
 * Records that `user` opened `studyUID` now, having been given `aiFindingIds` (after the reader policy).
 * Returns null for a role that does not read studies (an ER attending looking, a technologist), else
 * whether this was the reader's first open.
 */
export async function recordStudyOpened(db: Kysely<DB>, user: Pick<SessionUser, 'username' | 'role'>, studyUID: string, aiFindingIds: readonly string[]): Promise<{ first: boolean } | null> {
  if (!opensAsReader(user.role)) return null;
  const at = new Date().toISOString();
  const ids = JSON.stringify([...new Set(aiFindingIds)].sort());
  const before = await db.selectFrom('study_opens').select(['ai_finding_ids', 'last_opened_at', 'role']).where('study_uid', '=', studyUID).where('username', '=', user.username).executeTakeFirst();
  // The same reader re-reading the same findings within a minute (the viewer refreshing, a second tab)
  // changes nothing worth a write: on PostgreSQL every such UPDATE takes the row's lock, and readers of
  // one study queued behind each other (bench:scale: findings p50 0.8 s on two gateways).
  if (before && before.ai_finding_ids === ids && before.role === user.role && Date.parse(at) - Date.parse(before.last_opened_at) < REOPEN_WRITE_MS) return { first: false };
  // The open and its audit record: one transaction.
  const first = await withAudit(db, async (trx) => {
    const inserted = before
      ? null
      : await trx
          .insertInto('study_opens')
          .values({ study_uid: studyUID, username: user.username, role: user.role, first_opened_at: at, last_opened_at: at, ai_finding_ids: ids })
          .onConflict((oc) => oc.columns(['study_uid', 'username']).doNothing())
          .executeTakeFirst();
    const isFirst = Number(inserted?.numInsertedOrUpdatedRows ?? 0n) > 0;
    if (!isFirst) await trx.updateTable('study_opens').set({ last_opened_at: at, role: user.role, ai_finding_ids: ids }).where('study_uid', '=', studyUID).where('username', '=', user.username).execute();
    const audited = isFirst || (aiFindingIds.length > 0 && ids !== before?.ai_finding_ids);
    return { value: isFirst, audit: audited ? { actor: user.username, role: user.role, action: 'study-opened', studyUID, detail: { first: isFirst, aiFindingIds: [...aiFindingIds] } } : null };
  });
  return { first };
}

export interface InProgress {
  studyUID: string;
  /** The reader who last worked on it (opened it, or saved its draft). */
  by: string;
  at: string;
  /** 'draft' once a report draft is saved, else 'opened'. */
  since: 'opened' | 'draft';
}

/** Studies opened by a reader or with a saved draft, not signed off: "in progress" on every user's worklist. */
export async function studiesInProgress(db: Kysely<DB>, limit = 2000): Promise<InProgress[]> {
  const signed = db.selectFrom('study_signoffs').select('study_uid');
  const drafts = await db.selectFrom('report_drafts').select(['study_uid', 'updated_by', 'updated_at']).where('signed_at', 'is', null).where('study_uid', 'not in', signed).orderBy('updated_at', 'desc').limit(limit).execute();
  const opens = await db.selectFrom('study_opens').select(['study_uid', 'username', 'last_opened_at']).where('study_uid', 'not in', signed).orderBy('last_opened_at', 'desc').limit(limit).execute();
  const out = new Map<string, InProgress>();
  for (const d of drafts) out.set(d.study_uid, { studyUID: d.study_uid, by: d.updated_by, at: d.updated_at, since: 'draft' });
  for (const o of opens) if (!out.has(o.study_uid)) out.set(o.study_uid, { studyUID: o.study_uid, by: o.username, at: o.last_opened_at, since: 'opened' });
  return [...out.values()].sort((a, b) => b.at.localeCompare(a.at)).slice(0, limit);
}
