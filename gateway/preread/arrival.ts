/**
 * An arrived study becomes pre-read jobs: its image series and facts from Orthanc, THE eligibility rule
 * (routing, models.ts) and the AI controls (study / modality disable, rollout off) decide which models
 * run; the study row, its jobs and (from the feed) the cursor are written in one transaction.
 *
 * The same admission runs again when a control that held a study back is lifted (AI re-enabled for the
 * study, a modality switched back on, a model's rollout no longer off): the study is read then, instead
 * of staying "skipped" for good. Jobs are unique per study, model and image set, so admitting twice
 * queues nothing twice.
 */
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../db/database.js';
import './migrations.js';
import { appendAudit } from '../audit/audit.js';
import { isAiAllowed } from '../trust/service.js';
import { orderFacts, seriesFactsOf } from '../trust/study-facts.js';
import { describeStudy, type ArrivedStudy } from './pacs.js';
import { route, type InstalledModel, type RoutingDecision } from './models.js';
import { createJobs } from './queue.js';
import type { OrthancClient } from '../orthanc/client.js';

const ACTOR = 'preread';

export interface AdmitDeps {
  db: Kysely<DB>;
  orthanc: OrthancClient;
  models: () => InstalledModel[];
  /** The queue: a study's AI state changed (tell live views), and new jobs may be due. */
  changed: (studyUID: string) => Promise<void>;
  tick: () => void;
}

/** A routing decision held back by an AI control rather than by the study's facts: lifting the control re-admits the study. */
export type BlockedBy = 'study-disabled' | 'modality-disabled' | 'rollout-off';
export type AdmittedDecision = RoutingDecision & { blockedBy?: BlockedBy };

/** Routing under the AI controls: which models run, and which a control (not the facts) holds back. */
export async function routeUnderControls(db: Kysely<DB>, uid: string, modality: string | null, routing: RoutingDecision[]): Promise<{ routing: AdmittedDecision[]; disabled: boolean }> {
  const allowed = await isAiAllowed(db, { studyUID: uid, modality });
  if (!allowed.ok) return { disabled: true, routing: routing.map((r) => ({ ...r, decision: 'skip', reason: allowed.reason, blockedBy: allowed.code })) };
  const out: AdmittedDecision[] = [];
  for (const r of routing) {
    if (r.decision !== 'run') {
      out.push(r);
      continue;
    }
    const m = await isAiAllowed(db, { studyUID: uid, modality, modelName: r.model });
    out.push(m.ok ? r : { ...r, decision: 'skip', reason: m.reason, blockedBy: m.code });
  }
  return { routing: out, disabled: false };
}

/** The reason a study with nothing to run shows (pure). */
export function skippedReason(routing: AdmittedDecision[], disabled: boolean): string {
  if (routing.length === 0) return 'no models installed';
  if (disabled) return routing[0].reason;
  return `AI skipped: ${routing.map((r) => r.reason).join('; ')}`;
}

/**
 * Admits one Orthanc study. `inTx` runs inside the transaction (the feed advances its cursor there).
 * `force`: admit even when the image set is unchanged (a lifted control). Returns the models queued now.
 */
export async function admitStudy(deps: AdmitDeps, orthancId: string, opts: { inTx?: (trx: Transaction<DB>) => Promise<void>; force?: boolean } = {}): Promise<string[]> {
  const { db } = deps;
  const study = await describeStudy(deps.orthanc, orthancId);
  if (!study || !study.studyInstanceUID) {
    if (opts.inTx) await db.transaction().execute(opts.inTx);
    return [];
  }
  const uid = study.studyInstanceUID;
  const existing = await db.selectFrom('preread_studies').selectAll().where('study_uid', '=', uid).executeTakeFirst();
  // Same images as last time (e.g. our own SR was added): nothing to read. Also no images at all.
  // A study resource with no images (an SR alone; or the same Study UID under another patient) is never read.
  if ((existing && existing.fingerprint === study.fingerprint && !opts.force) || study.instanceCount === 0) {
    if (opts.inTx) await db.transaction().execute(opts.inTx);
    return [];
  }
  const { routing, disabled } = await routeStudy(deps, study);
  const now = new Date().toISOString();
  const run = routing.filter((r) => r.decision === 'run');
  // A lifted control re-admits the same image set: only models with no job for it yet are new. With
  // none (the control still holds, or every model already ran) the study is left exactly as it is.
  const sameImages = existing?.fingerprint === study.fingerprint;
  if (sameImages) {
    const had = new Set((await db.selectFrom('preread_jobs').select('model').where('study_uid', '=', uid).where('fingerprint', '=', study.fingerprint).execute()).map((j) => j.model));
    if (!run.some((r) => !had.has(r.model))) {
      if (opts.inTx) await db.transaction().execute(opts.inTx);
      return [];
    }
  }
  let created: string[] = [];
  await db.transaction().execute(async (trx) => {
    const row = {
      orthanc_id: orthancId,
      fingerprint: study.fingerprint,
      instance_count: study.instanceCount,
      modality: study.imageSeries[0]?.modality ?? null,
      fingerprint_at: now,
      routing: JSON.stringify(routing),
      ai_override: disabled ? 'disabled' : null,
      // A re-read keeps the old flag until the new result is in; a first read starts unflagged.
      priority: existing?.priority ?? 'none',
      // A re-read keeps the old reason until its result is in; a re-admitted study with no flag waits for AI.
      reason: run.length ? (existing && (!sameImages || existing.priority !== 'none') ? existing.reason : 'AI pending') : skippedReason(routing, disabled),
      flagged_at: run.length ? (existing?.flagged_at ?? null) : now,
      updated_at: now,
    };
    if (existing) await trx.updateTable('preread_studies').set(row).where('study_uid', '=', uid).execute();
    else await trx.insertInto('preread_studies').values({ study_uid: uid, arrived_at: now, ...row }).execute();
    created = await createJobs(trx, { uid, orthancId, fingerprint: study.fingerprint }, run, now);
    if (opts.inTx) await opts.inTx(trx);
  });
  await appendAudit(db, {
    actor: ACTOR,
    action: sameImages ? 'preread-study-readmitted' : existing ? 'preread-study-changed' : 'preread-study-arrived',
    studyUID: uid,
    detail: { fingerprint: study.fingerprint, routing: routing.map((r) => ({ model: r.model, decision: r.decision, reason: r.reason })), queued: created },
  });
  await deps.changed(uid);
  deps.tick();
  return created;
}

/** THE study facts (each image series' WADO-RS metadata and the HL7 order) under THE eligibility rule, then the AI controls. */
async function routeStudy(deps: AdmitDeps, study: ArrivedStudy): Promise<{ routing: AdmittedDecision[]; disabled: boolean }> {
  const uid = study.studyInstanceUID;
  const order = await orderFacts(deps.db, uid, study.tags.AccessionNumber);
  const seriesFacts = await seriesFactsOf(deps.orthanc, uid, study.imageSeries.map((s) => ({ orthancId: s.id, seriesInstanceUID: s.seriesInstanceUID })), order);
  return routeUnderControls(deps.db, uid, study.imageSeries[0]?.modality ?? null, route(deps.models(), seriesFacts));
}

/**
 * Studies an AI control held back (all of them, or the given ones) are admitted again: those whose
 * stored routing names a control as the reason a model did not run. Returns the studies that got jobs.
 */
export async function readmitHeldBack(deps: AdmitDeps, studyUIDs?: string[], log: (m: string) => void = () => {}): Promise<string[]> {
  let q = deps.db.selectFrom('preread_studies').select(['study_uid', 'orthanc_id', 'routing']);
  if (studyUIDs) q = q.where('study_uid', 'in', studyUIDs);
  const started: string[] = [];
  for (const r of await q.execute()) {
    const routing = JSON.parse(r.routing) as AdmittedDecision[];
    if (!routing.some((d) => d.blockedBy)) continue;
    try {
      if ((await admitStudy(deps, r.orthanc_id, { force: true })).length) started.push(r.study_uid);
    } catch (e) {
      // The PACS may be down: the study stays as it was; the next lifted control (or arrival) tries again.
      log(`preread: re-admitting ${r.study_uid}: ${(e as Error).message}`);
    }
  }
  return started;
}
