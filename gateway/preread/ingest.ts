/**
 * A finished pre-read job's output becomes findings: the model's raw output is validated (pure), then
 * stored through THE one ingestion path (gateway/findings/ingest.ts) in one transaction with the job's
 * "done" state, the study's triage and the outbox events (AI SR, preliminary ORU). A crash before the
 * commit leaves the job running; the queue runs it again and the deterministic finding ids upsert.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/database.js';
import type { DomainEvents } from '../context.js';
import { withAudit, type AuditEvent } from '../audit/audit.js';
import { ingestFindings, announceIngest } from '../findings/ingest.js';
import { rolloutTable } from '../trust/service.js';
import { onAiResultReady } from '../outbox/events.js';
import { rolloutModeOf } from '../../src/core/policy/policy.js';
import { FindingSchema, describeIssues, type Finding } from '../../src/core/findings/finding.js';
import { alertId, type TriageService } from './triage.js';
import { toFindings } from '../../src/core/ai/to-findings.js';
import { addStats, domainGuard, type IntensityStats, type ValueFacts } from '../../src/core/ai/domain.js';
import type { SliceOutput } from './pool.js';
import type { InstalledModel } from './models.js';
import { ARRIVING, ARRIVING_REASON } from './arriving.js';

const ACTOR = 'preread';

export type ParsedOutput = { ok: true; findings: Finding[] } | { ok: false; error: string };

/**
 * The model's raw findings as stored findings of this study, or why not. Ids are deterministic
 * (`<job>-<i>` when the model gives none) so a re-run of the same job upserts the same rows.
 */
export function parseModelOutput(jobId: string, studyUID: string, raw: readonly unknown[]): ParsedOutput {
  const findings: Finding[] = [];
  for (const [i, item] of raw.entries()) {
    const r = (item ?? {}) as Record<string, unknown>;
    const parsed = FindingSchema.safeParse({ ...r, id: typeof r.id === 'string' && r.id ? r.id : `${jobId}-${i}`, studyInstanceUID: studyUID, source: 'preread' });
    if (!parsed.success) return { ok: false, error: `model output ${i} is not a valid finding: ${describeIssues(parsed.error).join('; ')}` };
    findings.push(parsed.data);
  }
  return { ok: true, findings };
}

export interface JobResultIngestDeps {
  db: Kysely<DB>;
  events?: DomainEvents;
  triage: TriageService;
  /** The installed model's manufacturer, for the stamp (the registry's manifest). */
  manufacturerOf: (model: string) => string | undefined;
}

export interface FinishedJob {
  id: string;
  study_uid: string;
  model: string;
  model_version: string;
  fingerprint: string;
}

/**
 * Stores a job's findings. `markDone(trx)` is the queue's part of the same transaction: it records the
 * job as done and answers false when the job is no longer running (stopped, already finished), in
 * which case nothing is stored. Returns whether the result was committed.
 */
export async function ingestJobResult(
  deps: JobResultIngestDeps,
  job: FinishedJob,
  findings: Finding[],
  meta: { provider: string; ms: number | null; outcome?: string | null },
  markDone: (trx: Transaction<DB>) => Promise<boolean>,
): Promise<boolean> {
  const { db, triage } = deps;
  // The alert a slice raised while the series arrived is this result's alert (no second page).
  const series = await db.selectFrom('preread_jobs').select('payload').where('id', '=', job.id).executeTakeFirst();
  const seriesUID = series ? (JSON.parse(series.payload) as { seriesInstanceUID?: string }).seriesInstanceUID : undefined;
  const early = seriesUID ? await db.selectFrom('preread_alerts').select('id').where('id', '=', alertId(job.study_uid, arrivalKey(seriesUID))).executeTakeFirst() : undefined;
  const alertKey = early && seriesUID ? arrivalKey(seriesUID) : job.fingerprint;
  const rollout = await rolloutTable(db);
  const model = { name: job.model, version: job.model_version, manufacturer: deps.manufacturerOf(job.model) ?? findings[0]?.model.manufacturer ?? 'Reading Station Demo' };
  // Policy and study facts are read before the transaction (one connection: reading them inside would wait on it).
  const prep = await triage.prepare(job.study_uid);
  // Findings, triage, outbox messages and every audit record of them: one transaction.
  const done = await withAudit(db, async (trx) => {
    if (!(await markDone(trx))) return { value: null, audit: null };
    // The one ingestion path: stamps, keeps verdicts, supersedes this model's older unverified result, after sign-off a separate set.
    const ingested = await ingestFindings(trx, { studyUID: job.study_uid, source: 'preread', actor: { username: ACTOR }, model, findings, completeResultSet: true, ...(seriesUID ? { resultSeriesUID: seriesUID } : {}), detail: { job: job.id } });
    // The study's triage from its current findings through the reader policy, its alert and webhook: same transaction.
    const outcome = await triage.applyInTx(trx, job.study_uid, prep, { cause: 'ingest', actor: ACTOR, fingerprint: alertKey });
    // Outside the model's domain: no findings, and the study says why (not "no findings").
    if (meta.outcome && outcome && outcome.to.priority === 'none') {
      await trx.updateTable('preread_studies').set({ reason: meta.outcome, updated_at: new Date().toISOString() }).where('study_uid', '=', job.study_uid).execute();
      outcome.to.reason = meta.outcome;
    }
    // The unverified AI SR and the preliminary ORU, in this transaction (durable outbox). A silent or
    // switched-off model's result is recorded but never leaves the building.
    if (rolloutModeOf(rollout, job.model) === 'assistive') {
      await onAiResultReady(trx, { studyInstanceUID: job.study_uid, findings, model, priority: outcome?.to.priority ?? 'none' });
    }
    const finished: AuditEvent = { actor: ACTOR, action: 'preread-inference-finished', studyUID: job.study_uid, detail: { job: job.id, model: job.model, findings: findings.length, provider: meta.provider, ms: meta.ms, priority: outcome?.to.priority ?? 'none', ...(meta.outcome ? { outcome: meta.outcome } : {}) } };
    return { value: { ingested, outcome }, audit: [...ingested.audit, finished, ...(outcome ? triage.auditOf(outcome) : [])] };
  });
  if (!done) return false;
  announceIngest({ db, events: deps.events }, done.ingested);
  if (done.outcome) triage.announce(done.outcome);
  else triage.notify(job.study_uid);
  return true;
}

/** The image-set key of the alert a slice raises while its series arrives (triage.ts alertId). */
export function arrivalKey(seriesUID: string): string {
  return `arrival:${seriesUID}`;
}

export interface SliceReadDeps extends JobResultIngestDeps {}

/**
 * A slice just read carries a finding: when one is critical, and the series' reads so far are inside
 * the model's domain (THE guard on their summed statistics), its critical findings are stored through
 * the one ingestion path (not a complete result set: the study's final result supersedes them) and the
 * study's triage is recomputed in the same transaction, so the flag and the alert come now, not at
 * stability. Returns whether a flag was stored.
 */
export async function ingestEarlyFlag(deps: SliceReadDeps, read: { studyUID: string; seriesUID: string; model: InstalledModel; slice: SliceOutput; provider: string }): Promise<boolean> {
  const { db, triage } = deps;
  const m = read.model.manifest;
  const critical = new Set(m.output.classes.filter((c) => c.severity === 'critical').map((c) => c.index));
  const detections = read.slice.detections.filter((d) => critical.has(d.classIndex));
  if (!detections.length) return false;
  if (m.domain.intensity) {
    const done = await db.selectFrom('preread_slices').select('result').where('study_uid', '=', read.studyUID).where('series_uid', '=', read.seriesUID).where('model', '=', m.name).where('state', '=', 'done').execute();
    const stats = [read.slice.stats, ...done.map((r) => (JSON.parse(r.result!) as SliceOutput).stats)].filter((x): x is IntensityStats => x !== null);
    const sum = stats.length ? stats.slice(1).reduce(addStats, stats[0]) : null;
    const values: ValueFacts = read.slice.values ?? {};
    if (!domainGuard(m.domain, values, sum).ok) return false;
  }
  const raw = toFindings({ manifest: m, studyInstanceUID: read.studyUID, slices: [{ image: read.slice.image, columns: read.slice.columns, rows: read.slice.rows, detections }], provider: read.provider, source: 'preread', createdAt: new Date().toISOString() });
  const parsed = parseModelOutput(`early-${read.slice.image.sopInstanceUID}`, read.studyUID, raw);
  if (!parsed.ok) return false;
  const model = { name: m.name, version: m.version, manufacturer: deps.manufacturerOf(m.name) ?? m.manufacturer };
  const prep = await triage.prepare(read.studyUID);
  // The flag, the study's triage and their audit records: one transaction.
  const flagged = await withAudit(db, async (trx) => {
    // The study's triage row, from its first flag on when its images are still arriving (admitStudy fills it in at stability).
    const now = new Date().toISOString();
    const made = await trx
      .insertInto('preread_studies')
      .values({ study_uid: read.studyUID, orthanc_id: '', fingerprint: ARRIVING, instance_count: 0, modality: null, arrived_at: now, fingerprint_at: now, routing: '[]', ai_override: null, priority: 'none', reason: ARRIVING_REASON, flagged_at: null, updated_at: now, finding_id: null })
      .onConflict((oc) => oc.column('study_uid').doNothing())
      .executeTakeFirst();
    const arriving = Number(made.numInsertedOrUpdatedRows ?? 0n) > 0;
    // Judged at stability meanwhile, and this model is not to run on the study: a slice still in the
    // queue then must not flag it again (withdrawEarlyFlags took back what came before). The no-op
    // update takes the row's lock on PostgreSQL, so this and the admission's update are serialised.
    const judged = await trx
      .updateTable('preread_studies')
      .set((eb) => ({ updated_at: eb.ref('updated_at') }))
      .where('study_uid', '=', read.studyUID)
      .returning(['fingerprint', 'routing'])
      .executeTakeFirst();
    if (judged && judged.fingerprint !== ARRIVING && (JSON.parse(judged.routing) as { model: string; decision: string }[]).some((r) => r.model === m.name && r.decision !== 'run')) {
      // Nothing written stays: the triage row above was there already (judged), so `arriving` is false.
      return { value: null, audit: null };
    }
    const ingested = await ingestFindings(trx, { studyUID: read.studyUID, source: 'preread', actor: { username: ACTOR }, model, findings: parsed.findings, detail: { early: true, sopInstanceUID: read.slice.image.sopInstanceUID } });
    const outcome = await triage.applyInTx(trx, read.studyUID, prep, { cause: 'ingest', actor: ACTOR, fingerprint: arrivalKey(read.seriesUID) });
    const audit: AuditEvent[] = [];
    if (arriving) audit.push({ actor: ACTOR, action: 'preread-study-arriving', studyUID: read.studyUID, detail: { series: read.seriesUID, model: m.name } });
    audit.push(...ingested.audit);
    audit.push({ actor: ACTOR, action: 'preread-early-flag', studyUID: read.studyUID, detail: { model: m.name, series: read.seriesUID, sopInstanceUID: read.slice.image.sopInstanceUID, findings: parsed.findings.length, priority: outcome?.to.priority ?? 'none' } });
    if (outcome) audit.push(...triage.auditOf(outcome));
    return { value: { ingested, outcome }, audit };
  });
  if (!flagged) return false;
  announceIngest({ db, events: deps.events }, flagged.ingested);
  if (flagged.outcome) triage.announce(flagged.outcome);
  return true;
}

/**
 * The study was judged at stability and a model that flagged slices while they arrived is not to run
 * on it after all (the order named a contraindication meanwhile, a control switched it off, the study's
 * facts refuse it): the findings its early reads stored are withdrawn through the one ingestion path
 * (an empty complete result set of that model: superseded, kept visible as such, never deleted) and the
 * study's triage recomputed, so no flag stands that the study's own result would not give. Only a model
 * with no finished job on the study: a full read's result is never withdrawn here. Returns the models
 * whose findings were withdrawn.
 */
export async function withdrawEarlyFlags(deps: SliceReadDeps, studyUID: string, skipped: readonly { model: string; version: string; reason: string }[]): Promise<string[]> {
  const { db, triage } = deps;
  const withdrawn: string[] = [];
  for (const s of skipped) {
    const ran = await db.selectFrom('preread_jobs').select('id').where('study_uid', '=', studyUID).where('model', '=', s.model).where('state', '=', 'done').executeTakeFirst();
    if (ran) continue;
    // Without a finished job, this model's unverified pre-read findings on the study can only be early flags.
    const model = { name: s.model, version: s.version, manufacturer: deps.manufacturerOf(s.model) ?? 'Reading Station Demo' };
    const prep = await triage.prepare(studyUID);
    // The withdrawal, the study's triage and their audit records: one transaction.
    const out = await withAudit(db, async (trx) => {
      const ingested = await ingestFindings(trx, { studyUID, source: 'preread', actor: { username: ACTOR }, model, findings: [], completeResultSet: true, detail: { withdrawn: s.reason } });
      if (!ingested.superseded.length) return { value: null, audit: null };
      const outcome = await triage.applyInTx(trx, studyUID, prep, { cause: 'ingest', actor: ACTOR });
      const withdrawnRec: AuditEvent = { actor: ACTOR, action: 'preread-early-withdrawn', studyUID, detail: { model: s.model, reason: s.reason, findings: ingested.superseded.map((f) => f.id) } };
      return { value: { ingested, outcome }, audit: [...ingested.audit, withdrawnRec, ...(outcome ? triage.auditOf(outcome) : [])] };
    });
    if (!out) continue;
    announceIngest({ db, events: deps.events }, out.ingested);
    withdrawn.push(s.model);
    if (out.outcome) triage.announce(out.outcome);
  }
  return withdrawn;
}
