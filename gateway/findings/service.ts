/**
 * The findings lifecycle's acts, each complete: database change, audit, domain event (and for the
 * sign-off the outbox, in its transaction). Routes are thin over these, and the lifecycle sequence
 * test drives exactly these, so what is tested is what runs.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { DomainEvents } from '../context.js';
import type { SessionUser } from '../../src/core/auth/roles.js';
import type { VerdictRequest } from '../../src/core/findings/verdict.js';
import { appendAudit, withAudit, type AuditEvent } from '../audit/audit.js';
import { ARRIVING } from '../preread/arriving.js';
import { onStudySignedOff } from '../outbox/events.js';
import { measurementsForStudy } from '../measurements/register.js';
import { findingsForStudy, recordVerdictIn, signOffStudy, type SignoffOutcome, type VerdictOutcome } from './repository.js';
import { freezeReport, getReport } from '../report/repository.js';
import { parseDraft, pendingAiLines, reportParts, reportPlainText, type ReportDraft } from '../../src/core/report/draft.js';

export interface FindingsDeps {
  db: Kysely<DB>;
  events?: DomainEvents;
  /** Where signed results go as FHIR (config.fhirUrl); none: no FHIR results. */
  fhirUrl?: string | null;
}

const AUDIT_ACTION = { accept: 'finding-accepted', reject: 'finding-rejected', modify: 'finding-modified', undo: 'finding-verdict-undone' } as const;

/** The audit record of a verdict given (or undone). */
function verdictAuditEvent(out: Extract<VerdictOutcome, { ok: true }>, req: VerdictRequest, user: Pick<SessionUser, 'username' | 'role'>): AuditEvent {
  return {
    actor: user.username,
    role: user.role,
    action: AUDIT_ACTION[out.action],
    studyUID: out.finding.studyInstanceUID,
    findingId: out.finding.id,
    detail: {
      from: out.before.status,
      to: out.finding.status,
      ...(out.before.id !== out.finding.id ? { replaces: out.before.id } : {}),
      ...(out.undoneAction ? { undid: out.undoneAction } : {}),
      ...(out.finding.originalId ? { originalId: out.finding.originalId } : {}),
      ...(req.reason ? { reason: req.reason } : {}),
    },
  };
}

/** A verdict (or undo) by a user: who and when are the server's. Refusals (409) are audited too. */
export async function giveVerdict(deps: FindingsDeps, id: string, req: VerdictRequest, user: Pick<SessionUser, 'username' | 'role'>): Promise<VerdictOutcome> {
  const { db } = deps;
  // The verdict and its audit record in one transaction: both or neither.
  const out = await withAudit(db, async (trx) => {
    const out = await recordVerdictIn(trx, id, req, { username: user.username, role: user.role }, new Date().toISOString());
    return { value: out, audit: out.ok ? verdictAuditEvent(out, req, user) : null };
  });
  if (!out.ok) {
    if (out.status === 409) await appendAudit(db, { actor: user.username, role: user.role, action: `finding-${req.action}`, outcome: 4, findingId: id, detail: { refused: out.error } });
    return out;
  }
  deps.events?.emit('findings-changed', { studyUID: out.finding.studyInstanceUID, cause: out.action === 'undo' ? 'undo' : 'verdict', actor: user.username });
  return out;
}

/** AI still reading the study when the radiologist signs: a pre-read job, or the browser's own run. */
export interface AiPending {
  model: string;
  version: string | null;
  source: 'pre-read' | 'browser';
  state: 'pending' | 'running';
  /** Slices read so far / to read (the browser's run only). */
  done?: number;
  total?: number;
}

/**
 * The pre-read still reading the study's current images: its jobs queued or running, or images still
 * arriving (preread_studies.fingerprint ARRIVING: read slice by slice, no job yet).
 */
export async function prereadStillReading(db: Kysely<DB>, studyUID: string): Promise<AiPending[]> {
  const study = await db.selectFrom('preread_studies').select(['fingerprint', 'ai_override']).where('study_uid', '=', studyUID).executeTakeFirst();
  if (!study || study.ai_override === 'disabled') return [];
  if (study.fingerprint === ARRIVING) return [{ model: 'pre-read', version: null, source: 'pre-read', state: 'running' }];
  const jobs = await db
    .selectFrom('preread_jobs')
    .select(['model', 'model_version', 'state'])
    .where('study_uid', '=', studyUID)
    .where('fingerprint', '=', study.fingerprint)
    .where('state', 'in', ['pending', 'running'])
    .orderBy('created_at')
    .execute();
  return jobs.map((j) => ({ model: j.model, version: j.model_version, source: 'pre-read' as const, state: j.state === 'running' ? ('running' as const) : ('pending' as const) }));
}

export type SignOffResult = SignoffOutcome | { ok: false; status: 409; error: string; aiPending: AiPending[]; unverified?: undefined };

const describePending = (p: AiPending) => `${p.model}${p.source === 'browser' ? ` in the browser${p.total ? ` (${p.done ?? 0}/${p.total} slices)` : ''}` : ` (pre-read, ${p.state === 'running' ? 'running' : 'queued'})`}`;

/**
 * Sign-off: refused (409, listing them) while the study's AI is still reading (pre-read jobs queued or
 * running, or the browser's run as the viewer reports it) unless `confirmAiPending`: a final read signed
 * before the AI answered is the radiologist's explicit choice, and audited with what was pending;
 * refused (409, listing them) while findings are unverified unless `confirmUnverified`;
 * records which were left unverified; the verified SR and the final ORU are enqueued in the same
 * transaction; audited; 'study-signed-off' emitted after the commit.
 * (That the study exists at all is the route's check: it needs the PACS.)
 */
export async function signOff(
  deps: FindingsDeps,
  e: {
    studyUID: string;
    user: SessionUser;
    confirmUnverified?: boolean;
    mustConfirm?: (id: string) => boolean;
    /** Finding id -> the prior's Tracking UID of the same lesion. */
    tracking?: Record<string, string>;
    /** The signer knows the AI has not finished and signs anyway. */
    confirmAiPending?: boolean;
    /** The viewer's own AI run on this study, still going (only the browser knows it). */
    browserAi?: { model: string; done: number; total: number } | null;
  },
): Promise<SignOffResult> {
  const { db } = deps;
  const { user, studyUID } = e;
  // The report signed with the study: no AI-suggested line may go out as the radiologist's words unseen.
  const draft = await getReport(db, studyUID);
  const pendingLines = draft && !draft.signedAt ? pendingAiLines(draft.draft) : [];
  if (pendingLines.length) {
    await appendAudit(db, { actor: user.username, role: user.role, action: 'study-signoff-refused', outcome: 4, studyUID, detail: { aiSuggestedLines: pendingLines.map((l) => l.id) } });
    return { ok: false, status: 409, error: `the report has ${pendingLines.length} AI-suggested line(s) not yet accepted or edited: accept, edit or delete them first` };
  }
  const aiPending = [...(await prereadStillReading(db, studyUID)), ...(e.browserAi ? [{ model: e.browserAi.model, version: null, source: 'browser' as const, state: 'running' as const, done: e.browserAi.done, total: e.browserAi.total }] : [])];
  if (aiPending.length && e.confirmAiPending !== true) {
    await appendAudit(db, { actor: user.username, role: user.role, action: 'study-signoff-needs-confirmation', outcome: 4, studyUID, detail: { aiPending } });
    return { ok: false, status: 409, error: `the AI is still reading this study: ${aiPending.map(describePending).join(', ')}; sign off without its results only if you mean to`, aiPending };
  }
  let signedReport: ReportDraft | null = null;
  // The sign-off, its outbox messages, the frozen report and the audit record: one transaction.
  const out = await withAudit<SignoffOutcome>(db, async (trx) => {
    const out = await signOffStudy(
      trx,
      studyUID,
      { username: user.username, role: user.role },
      new Date().toISOString(),
      async (trx, findings, signoff) => {
        // Same transaction: the sign-off is never recorded without its verified SR + final ORU in the outbox.
        // Unverified AI findings are not part of the verified report; rejected ones are (as "absent").
        const reported = findings.filter((f) => f.status !== 'ai-unverified').map((f) => (e.tracking?.[f.id] && !f.trackingUID ? { ...f, trackingUID: e.tracking[f.id] } : f));
        // The draft becomes the signed report in the same transaction; it never changes afterwards.
        signedReport = await freezeReport(trx, studyUID, signoff.signed_at);
        await onStudySignedOff(trx, {
          studyInstanceUID: studyUID, findings: reported, user, signedAt: signoff.signed_at, fhirUrl: deps.fhirUrl,
          ...(signedReport ? { reportText: reportPlainText(signedReport), report: reportParts(signedReport) } : {}),
          // The radiologist's live (not deleted) measurements: in the verified SR as theirs.
          measurements: await measurementsForStudy(trx, studyUID),
        });
      },
      { confirmUnverified: e.confirmUnverified === true, ...(e.mustConfirm ? { mustConfirm: (f) => e.mustConfirm!(f.id) } : {}) },
    );
    if (!out.ok) return { value: out, audit: null };
    const audit: AuditEvent = {
      actor: user.username,
      role: user.role,
      action: 'study-signed-off',
      studyUID,
      detail: {
        verified: out.signoff.verified_count,
        unverified: out.signoff.unverified_count,
        rejected: out.signoff.rejected_count,
        unverifiedIds: JSON.parse(out.signoff.unverified_ids) as string[],
        confirmedUnverified: e.confirmUnverified === true,
        ...(aiPending.length ? { signedWhileAiPending: aiPending } : {}),
        report: signedReport !== null,
      },
    };
    return { value: out, audit };
  });
  if (!out.ok) {
    if (out.unverified) await appendAudit(db, { actor: user.username, role: user.role, action: 'study-signoff-needs-confirmation', outcome: 4, studyUID, detail: { unverifiedIds: out.unverified.map((f) => f.id) } });
    return out;
  }
  deps.events?.emit('study-signed-off', { studyUID, actor: user.username });
  return out;
}

export type AddendumOutcome = { ok: true; id: number; addedAt: string } | { ok: false; status: 404 | 409 | 422; error: string };

/**
 * An addendum to a signed report: stored, then in the same transaction a corrected result (ORU C) with the
 * whole report and every addendum, and a new verified SR whose predecessor is the latest SR (the signed one,
 * or the previous addendum's). The signed record itself is never changed.
 */
export async function addAddendum(deps: FindingsDeps, e: { studyUID: string; user: SessionUser; text: string }): Promise<AddendumOutcome> {
  const { db } = deps;
  const text = e.text.trim();
  if (!text) return { ok: false, status: 422, error: 'text: an addendum needs text' };
  if (text.length > 10_000) return { ok: false, status: 422, error: 'text: at most 10000 characters' };
  const at = new Date().toISOString();
  // The addendum, its corrected results in the outbox and its audit record: one transaction.
  return withAudit<AddendumOutcome>(db, async (trx) => {
    const signed = await trx.selectFrom('study_signoffs').select(['signed_at']).where('study_uid', '=', e.studyUID).executeTakeFirst();
    if (!signed) return { value: { ok: false, status: 409, error: `study ${e.studyUID} is not signed off: edit the report instead` }, audit: null };
    const row = await trx
      .insertInto('report_addenda')
      .values({ study_uid: e.studyUID, text, added_by: e.user.username, added_at: at })
      .returning('id')
      .executeTakeFirstOrThrow();
    const all = await trx.selectFrom('report_addenda').select(['text', 'added_by', 'added_at']).where('study_uid', '=', e.studyUID).orderBy('id', 'asc').execute();
    const addendumText = all.map((a) => `${a.added_at} ${a.added_by}: ${a.text}`).join('\n');
    const stored = await trx.selectFrom('report_drafts').select(['draft']).where('study_uid', '=', e.studyUID).executeTakeFirst();
    const parsed = stored ? parseDraft(JSON.parse(stored.draft)) : null;
    const report = parsed?.ok ? parsed.value : null;
    const findings = (await findingsForStudy(trx, e.studyUID)).filter((f) => f.status !== 'ai-unverified');
    const parts = report ? reportParts(report) : { findings: [], impression: '' };
    await onStudySignedOff(trx, {
      studyInstanceUID: e.studyUID, findings, user: e.user, signedAt: at, fhirUrl: deps.fhirUrl,
      reportText: report ? reportPlainText(report, { addendum: addendumText }) : `ADDENDUM:\n${addendumText}`,
      report: { findings: [...parts.findings, ...all.map((a) => `Addendum (${a.added_by}, ${a.added_at}): ${a.text}`)], impression: parts.impression },
      measurements: await measurementsForStudy(trx, e.studyUID),
    });
    return {
      value: { ok: true, id: row.id, addedAt: at },
      audit: { actor: e.user.username, role: e.user.role, action: 'report-addendum', studyUID: e.studyUID, detail: { addendumId: row.id, length: text.length } },
    };
  });
}
