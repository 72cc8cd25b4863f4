/** Findings storage: the validated Finding is stored whole (JSON body) with a few indexed columns. */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/database.js';
import { orthancFetch, type OrthancClient } from '../orthanc/client.js';
import { FindingSchema, type Finding } from '../../src/core/findings/finding.js';
import { applyVerdict, type Actor, type VerdictRequest } from '../../src/core/findings/verdict.js';
import type { StudySignoffsTable } from './migrations.js';
import '../preread/migrations.js';
import '../outbox/schema.js';

/**
 * Writes one finding row. Only for the ingestion path (ingest.ts) and verdicts (below): every other
 * writer goes through ingest(), which stamps source, actor and time and keeps verdicts.
 */
export async function upsertFinding(db: Kysely<DB>, f: Finding): Promise<void> {
  const now = new Date().toISOString();
  const row = {
    id: f.id,
    study_uid: f.studyInstanceUID,
    status: f.status,
    severity: f.severity,
    confidence: f.confidence,
    model_name: f.model.name,
    source: f.source,
    body: JSON.stringify(f),
    updated_at: now,
  };
  await db
    .insertInto('findings')
    .values({ ...row, created_at: f.createdAt ?? now })
    .onConflict((oc) => oc.column('id').doUpdateSet(row))
    .execute();
}

export async function findingsForStudy(db: Kysely<DB>, studyUID: string): Promise<Finding[]> {
  const rows = await db.selectFrom('findings').select('body').where('study_uid', '=', studyUID).execute();
  return rows.map((r) => FindingSchema.parse(JSON.parse(r.body)));
}

export async function getFinding(db: Kysely<DB>, id: string): Promise<Finding | null> {
  const row = await db.selectFrom('findings').select('body').where('id', '=', id).executeTakeFirst();
  return row ? FindingSchema.parse(JSON.parse(row.body)) : null;
}

export async function getSignoff(db: Kysely<DB>, studyUID: string): Promise<StudySignoffsTable | null> {
  return (await db.selectFrom('study_signoffs').selectAll().where('study_uid', '=', studyUID).executeTakeFirst()) ?? null;
}

export type VerdictOutcome =
  | { ok: true; finding: Finding; before: Finding; action: VerdictRequest['action']; undoneAction?: string }
  | { ok: false; status: 404 | 409 | 422; error: string; details?: string[] };

/**
 * Applies a verdict (or undoes the last one) atomically: the sign-off check, the finding update
 * and the history row happen in one transaction, so a verdict racing a sign-off cannot slip in.
 */
export async function recordVerdict(db: Kysely<DB>, id: string, req: VerdictRequest, actor: Actor, at: string): Promise<VerdictOutcome> {
  return db.transaction().execute((trx) => recordVerdictIn(trx, id, req, actor, at));
}

/** recordVerdict inside the caller's transaction (the verdict and its audit record commit together: findings/service.ts). */
export async function recordVerdictIn(trx: Transaction<DB>, id: string, req: VerdictRequest, actor: Actor, at: string): Promise<VerdictOutcome> {
  const current = await getFinding(trx, id);
  if (!current) return { ok: false, status: 404, error: `no finding ${id}` };
  const signed = await getSignoff(trx, current.studyInstanceUID);
  if (signed) return { ok: false, status: 409, error: `study ${current.studyInstanceUID} was signed off at ${signed.signed_at}; verdicts are locked` };

  if (req.action === 'undo') {
    const last = await trx
      .selectFrom('finding_verdicts')
      .selectAll()
      .where('result_id', '=', id)
      .where('undone', '=', 0)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!last) return { ok: false, status: 409, error: `finding ${id} has no verdict to undo` };
    const before = FindingSchema.parse(JSON.parse(last.before_body));
    if (last.result_id !== before.id) await trx.deleteFrom('findings').where('id', '=', last.result_id).execute();
    await upsertFinding(trx, before);
    await trx.updateTable('finding_verdicts').set({ undone: 1 }).where('seq', '=', last.seq).execute();
    return { ok: true, finding: before, before: current, action: 'undo', undoneAction: last.action };
  }

  const next = applyVerdict(current, req, actor, at);
  if (!next.ok) return { ok: false, status: 422, error: 'invalid verdict', details: next.errors };
  if (next.value.studyInstanceUID !== current.studyInstanceUID) return { ok: false, status: 422, error: 'studyInstanceUID: a verdict cannot move a finding to another study' };
  // The first modify of an AI original replaces it by the linked ~mod finding; the original
  // lives on in the history row (before_body) and comes back on undo.
  if (next.value.id !== current.id) await trx.deleteFrom('findings').where('id', '=', current.id).execute();
  await upsertFinding(trx, next.value);
  await trx
    .insertInto('finding_verdicts')
    .values({
      study_uid: current.studyInstanceUID,
      finding_id: current.id,
      result_id: next.value.id,
      action: req.action,
      actor: actor.username,
      role: actor.role,
      at,
      before_body: JSON.stringify(current),
      after_body: JSON.stringify(next.value),
      undone: 0,
    })
    .execute();
  return { ok: true, finding: next.value, before: current, action: req.action };
}

export async function verdictHistory(db: Kysely<DB>, id: string) {
  const rows = await db
    .selectFrom('finding_verdicts')
    .select(['seq', 'finding_id', 'result_id', 'action', 'actor', 'role', 'at', 'undone'])
    .where((eb) => eb.or([eb('finding_id', '=', id), eb('result_id', '=', id)]))
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ ...r, undone: !!r.undone }));
}

export type SignoffOutcome =
  | { ok: true; signoff: StudySignoffsTable; findings: Finding[] }
  | { ok: false; status: 409; error: string; unverified?: Finding[] };

export interface SignoffOptions {
  /** The signer saw the unverified findings and signs anyway. */
  confirmUnverified?: boolean;
  /** Which unverified findings need that confirmation (default all; the route passes those the reader can see). */
  mustConfirm?: (f: Finding) => boolean;
}

/**
 * Records the sign-off in the caller's transaction (with its audit record: findings/service.ts).
 * Unverified findings stay unverified (they are simply not part of the verified report); from now on
 * verdicts on this study are refused. `inTransaction` runs inside the same transaction (the outbox
 * event), so a sign-off is never recorded without its event.
 */
export async function signOffStudy(
  trx: Transaction<DB>,
  studyUID: string,
  actor: Actor,
  at: string,
  inTransaction?: (trx: Kysely<DB>, findings: Finding[], signoff: StudySignoffsTable) => Promise<void>,
  opts: SignoffOptions = {},
): Promise<SignoffOutcome> {
  const existing = await getSignoff(trx, studyUID);
  if (existing) return { ok: false, status: 409, error: `study ${studyUID} was already signed off by ${existing.signed_by} at ${existing.signed_at}` };
  const findings = await findingsForStudy(trx, studyUID);
  const unverified = findings.filter((f) => f.status === 'ai-unverified');
  // Checked in the transaction: a finding arriving between the reader's look and the sign-off is asked about too.
  const ask = unverified.filter(opts.mustConfirm ?? (() => true));
  if (ask.length && !opts.confirmUnverified) {
    return { ok: false, status: 409, error: `${ask.length} finding(s) are still unverified: sign off with { "confirmUnverified": true } to leave them unverified`, unverified: ask };
  }
  const signoff: StudySignoffsTable = {
    study_uid: studyUID,
    signed_by: actor.username,
    role: actor.role,
    signed_at: at,
    verified_count: findings.filter((f) => f.status === 'accepted' || f.status === 'modified').length,
    unverified_count: findings.filter((f) => f.status === 'ai-unverified').length,
    rejected_count: findings.filter((f) => f.status === 'rejected').length,
    unverified_ids: JSON.stringify(unverified.map((f) => f.id).sort()),
  };
  await trx.insertInto('study_signoffs').values(signoff).execute();
  if (inTransaction) await inTransaction(trx, findings, signoff);
  return { ok: true, signoff, findings };
}

export type OutboxState = 'none' | 'pending' | 'sent' | 'acknowledged' | 'failed';

export interface SignoffStatus {
  signedBy: string;
  signedAt: string;
  role: string;
  verified: number;
  unverified: number;
  rejected: number;
  /** Findings the signer left unverified (confirmed at sign-off). */
  unverifiedIds: string[];
  /** The verified SR of this sign-off: 'none' when there was nothing verified to report. */
  srState: OutboxState;
  /** The final (or corrected) ORU of this sign-off: 'acknowledged' once the RIS answered AA. */
  oruState: OutboxState;
  /** AI results that arrived after the sign-off (not in the signed record; may start an addendum). */
  afterSignoff: number;
}

function outboxState(status: string | undefined): OutboxState {
  if (!status) return 'none';
  if (status === 'dead') return 'failed';
  if (status === 'failed') return 'pending'; // still being retried
  return status as OutboxState;
}

/**
 * The sign-off of a study and where its results are: final, SR stored, ORU acknowledged. For the
 * findings response and the worklist (null: not signed off).
 */
export async function signoffStatus(db: Kysely<DB>, studyUID: string): Promise<SignoffStatus | null> {
  return (await signoffStatuses(db, [studyUID])).get(studyUID) ?? null;
}

/** The same for many studies in two queries (the worklist); studies not signed off are absent from the map. */
export async function signoffStatuses(db: Kysely<DB>, studyUIDs: string[]): Promise<Map<string, SignoffStatus>> {
  const out = new Map<string, SignoffStatus>();
  if (!studyUIDs.length) return out;
  const signed = await db.selectFrom('study_signoffs').selectAll().where('study_uid', 'in', studyUIDs).execute();
  if (!signed.length) return out;
  const all = await db
    .selectFrom('outbox')
    .select(['study_uid', 'kind', 'dedupe_key', 'status'])
    .where('study_uid', 'in', signed.map((s) => s.study_uid))
    .where('kind', 'in', ['sr-stow', 'hl7-oru'])
    .execute();
  const late = await db
    .selectFrom('findings_after_signoff')
    .select((eb) => ['study_uid', eb.fn.countAll<number>().as('n')])
    .where('study_uid', 'in', signed.map((s) => s.study_uid))
    .groupBy('study_uid')
    .execute();
  const lateBy = new Map(late.map((r) => [r.study_uid, Number(r.n)]));
  for (const s of signed) out.set(s.study_uid, statusOf(s, all.filter((r) => r.study_uid === s.study_uid), lateBy.get(s.study_uid) ?? 0));
  return out;
}

function statusOf(s: StudySignoffsTable, rows: { kind: string; dedupe_key: string; status: string }[], afterSignoff: number): SignoffStatus {
  const studyUID = s.study_uid;
  const sr = rows.find((r) => r.kind === 'sr-stow' && r.dedupe_key === `sr:verified:${studyUID}:${s.signed_at}`);
  const oru = rows.find((r) => r.kind === 'hl7-oru' && r.dedupe_key === `oru:F:${studyUID}:${s.signed_at}`);
  return {
    signedBy: s.signed_by,
    signedAt: s.signed_at,
    role: s.role,
    verified: s.verified_count,
    unverified: s.unverified_count,
    rejected: s.rejected_count,
    unverifiedIds: JSON.parse(s.unverified_ids ?? '[]') as string[],
    srState: outboxState(sr?.status),
    oruState: outboxState(oru?.status),
    afterSignoff,
  };
}

/**
 * Whether a study exists for us: findings, a pre-read row, or the PACS knows it.
 * 'unreachable' when only the PACS could tell and it does not answer.
 */
export async function studyIsKnown(db: Kysely<DB>, orthanc: OrthancClient, studyUID: string): Promise<boolean | 'unreachable'> {
  if (await db.selectFrom('findings').select('id').where('study_uid', '=', studyUID).limit(1).executeTakeFirst()) return true;
  if (await db.selectFrom('preread_studies').select('study_uid').where('study_uid', '=', studyUID).executeTakeFirst()) return true;
  try {
    const r = await orthancFetch(orthanc, '/tools/lookup', { method: 'POST', body: studyUID, timeoutMs: 10_000 });
    if (!r.ok) return 'unreachable';
    const found = (await r.json()) as { Type?: string }[];
    return found.some((x) => x.Type === 'Study');
  } catch {
    return 'unreachable';
  }
}
