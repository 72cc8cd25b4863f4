/** Report drafts and addenda (tables in gateway/findings/migrations.ts, version 102). */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import { parseDraft, type ReportDraft } from '../../src/core/report/draft.js';
import '../findings/migrations.js';

export interface StoredReport {
  draft: ReportDraft;
  updatedBy: string;
  updatedAt: string;
  signedAt: string | null;
}

export async function getReport(db: Kysely<DB>, studyUID: string): Promise<StoredReport | null> {
  const row = await db.selectFrom('report_drafts').selectAll().where('study_uid', '=', studyUID).executeTakeFirst();
  if (!row) return null;
  const p = parseDraft(JSON.parse(row.draft));
  if (!p.ok) return null;
  return { draft: p.value, updatedBy: row.updated_by, updatedAt: row.updated_at, signedAt: row.signed_at };
}

export type SaveOutcome = { ok: true; report: StoredReport } | { ok: false; status: 409; error: string };

/** Saves the draft unless the study is signed off (the signed report never changes: an addendum adds to it). */
export async function saveDraft(db: Kysely<DB>, studyUID: string, draft: ReportDraft, by: string, at: string): Promise<SaveOutcome> {
  // In the caller's transaction (the route's withAudit: the draft and its audit record commit together), else its own.
  if (!db.isTransaction) return db.transaction().execute((trx) => saveDraft(trx, studyUID, draft, by, at));
  const signed = await db.selectFrom('study_signoffs').select(['signed_at']).where('study_uid', '=', studyUID).executeTakeFirst();
  if (signed) return { ok: false, status: 409, error: `study ${studyUID} was signed off at ${signed.signed_at}: the report is final; add an addendum` };
  const body = JSON.stringify(draft);
  const existing = await db.selectFrom('report_drafts').select('study_uid').where('study_uid', '=', studyUID).executeTakeFirst();
  if (existing) await db.updateTable('report_drafts').set({ draft: body, updated_by: by, updated_at: at }).where('study_uid', '=', studyUID).execute();
  else await db.insertInto('report_drafts').values({ study_uid: studyUID, draft: body, updated_by: by, updated_at: at, signed_at: null }).execute();
  return { ok: true, report: { draft, updatedBy: by, updatedAt: at, signedAt: null } };
}

/** In the sign-off's transaction: the draft becomes the signed report. */
export async function freezeReport(trx: Kysely<DB>, studyUID: string, at: string): Promise<ReportDraft | null> {
  const row = await trx.selectFrom('report_drafts').selectAll().where('study_uid', '=', studyUID).executeTakeFirst();
  if (!row) return null;
  await trx.updateTable('report_drafts').set({ signed_at: at }).where('study_uid', '=', studyUID).execute();
  const p = parseDraft(JSON.parse(row.draft));
  return p.ok ? p.value : null;
}

export interface Addendum {
  id: number;
  text: string;
  addedBy: string;
  addedAt: string;
}

export async function addenda(db: Kysely<DB>, studyUID: string): Promise<Addendum[]> {
  const rows = await db.selectFrom('report_addenda').selectAll().where('study_uid', '=', studyUID).orderBy('id', 'asc').execute();
  return rows.map((r) => ({ id: r.id, text: r.text, addedBy: r.added_by, addedAt: r.added_at }));
}
