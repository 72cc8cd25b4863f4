/**
 * A finished pre-read job's output becomes findings: the model's raw output is validated (pure), then
 * stored through THE one ingestion path (gateway/findings/ingest.ts) in one transaction with the job's
 * "done" state, the study's triage and the outbox events (AI SR, preliminary ORU). A crash before the
 * commit leaves the job running; the queue runs it again and the deterministic finding ids upsert.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/database.js';
import type { DomainEvents } from '../context.js';
import { appendAudit } from '../audit/audit.js';
import { ingestFindings, commitIngest, type IngestOutcome } from '../findings/ingest.js';
import { rolloutTable } from '../trust/service.js';
import { onAiResultReady } from '../outbox/events.js';
import { rolloutModeOf } from '../../src/core/policy/policy.js';
import { FindingSchema, describeIssues, type Finding } from '../../src/core/findings/finding.js';
import type { TriageOutcome, TriageService } from './triage.js';

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
  meta: { provider: string; ms: number | null },
  markDone: (trx: Transaction<DB>) => Promise<boolean>,
): Promise<boolean> {
  const { db, triage } = deps;
  const rollout = await rolloutTable(db);
  const model = { name: job.model, version: job.model_version, manufacturer: deps.manufacturerOf(job.model) ?? findings[0]?.model.manufacturer ?? 'Reading Station Demo' };
  // Policy and study facts are read before the transaction (one connection: reading them inside would wait on it).
  const prep = await triage.prepare(job.study_uid);
  let ingested: IngestOutcome | null = null;
  let outcome: TriageOutcome | null = null;
  let committed = false;
  await db.transaction().execute(async (trx) => {
    if (!(await markDone(trx))) return;
    // The one ingestion path: stamps, keeps verdicts, supersedes this model's older unverified result, after sign-off a separate set.
    ingested = await ingestFindings(trx, { studyUID: job.study_uid, source: 'preread', actor: { username: ACTOR }, model, findings, completeResultSet: true, detail: { job: job.id } });
    // The study's triage from its current findings through the reader policy, its alert and webhook: same transaction.
    outcome = await triage.applyInTx(trx, job.study_uid, prep, { cause: 'ingest', actor: ACTOR, fingerprint: job.fingerprint });
    committed = true;
    // The unverified AI SR and the preliminary ORU, in this transaction (durable outbox). A silent or
    // switched-off model's result is recorded but never leaves the building.
    if (rolloutModeOf(rollout, job.model) === 'assistive') {
      await onAiResultReady(trx, { studyInstanceUID: job.study_uid, findings, model, priority: (outcome as TriageOutcome | null)?.to.priority ?? 'none' });
    }
  });
  if (!committed) return false;
  if (ingested) await commitIngest({ db, events: deps.events }, ingested);
  const t = outcome as TriageOutcome | null;
  await appendAudit(db, { actor: ACTOR, action: 'preread-inference-finished', studyUID: job.study_uid, detail: { job: job.id, model: job.model, findings: findings.length, provider: meta.provider, ms: meta.ms, priority: t?.to.priority ?? 'none' } });
  if (t) await triage.publish(t);
  else triage.notify(job.study_uid);
  return true;
}
