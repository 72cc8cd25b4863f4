/**
 * Arriving instances become per-instance reads (admitInstances): the first instance of a series is
 * judged by THE eligibility rule on its own header (modality, body part, age, ImageType, thickness,
 * spacing, the order's contraindications) and the declared value units, under the AI controls, so a
 * series is read slice by slice as it lands and an out-of-domain series queues nothing.
 *
 * A stable study becomes pre-read jobs: its image series and facts from Orthanc, THE eligibility rule
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
import { withAudit } from '../audit/audit.js';
import { isAiAllowed } from '../trust/service.js';
import { orderFacts, seriesFactsOf } from '../trust/study-facts.js';
import { describeStudy, type ArrivedStudy } from './pacs.js';
import { route, type InstalledModel, type RoutingDecision } from './models.js';
import { createJobs } from './queue.js';
import { ARRIVING } from './arriving.js';
import { dicomWebPath, OrthancError, orthancGet, orthancJson, type OrthancClient } from '../orthanc/client.js';
import crypto from 'node:crypto';
import { eligibility } from '../../src/core/ai/eligibility.js';
import { valueFactsOf, valuesDomain, type ValueFacts } from '../../src/core/ai/domain.js';
import { studyFacts } from '../../src/core/study/facts.js';
import { isIgnoredSeries } from '../../src/core/triage/arrival.js';
import type { DicomJson } from '../../src/core/imaging/dicomJson.js';

const ACTOR = 'preread';

export interface AdmitDeps {
  db: Kysely<DB>;
  orthanc: OrthancClient;
  models: () => InstalledModel[];
  /** The queue: a study's AI state changed (tell live views), and new jobs may be due. */
  changed: (studyUID: string) => Promise<void>;
  tick: () => void;
  /**
   * Models judged at stability not to run on a study: findings their reads raised while it arrived are
   * withdrawn (ingest.ts withdrawEarlyFlags). Optional so admission can be exercised without triage.
   */
  withdrawEarly?: (studyUID: string, skipped: { model: string; version: string; reason: string }[]) => Promise<unknown>;
  /** Orthanc series id → what the arrival needs of it (UIDs never change; kept for the process's life, bounded). */
  seriesCache?: Map<string, Promise<ArrivingSeries | null>>;
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
  // A row made while the images arrived is this study's first admission, not a change.
  const arriving = existing?.fingerprint === ARRIVING;
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
  // The study's triage row, its jobs and the audit record of its admission: one transaction.
  const created = await withAudit(db, async (trx) => {
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
    else {
      // A slice may have flagged the study (its row made by ingestEarlyFlag) since `existing` was read: keep that flag.
      const { priority: _p, reason: _r, flagged_at: _f, ...facts } = row;
      await trx
        .insertInto('preread_studies')
        .values({ study_uid: uid, arrived_at: now, ...row })
        .onConflict((oc) => oc.column('study_uid').doUpdateSet(facts))
        .execute();
    }
    const jobs = await createJobs(trx, { uid, orthancId, fingerprint: study.fingerprint }, run, now);
    if (opts.inTx) await opts.inTx(trx);
    return {
      value: jobs,
      audit: {
        actor: ACTOR,
        action: sameImages ? 'preread-study-readmitted' : existing && !arriving ? 'preread-study-changed' : 'preread-study-arrived',
        studyUID: uid,
        detail: { fingerprint: study.fingerprint, routing: routing.map((r) => ({ model: r.model, decision: r.decision, reason: r.reason })), queued: jobs },
      },
    };
  });
  const skipped = routing.filter((r) => r.decision !== 'run');
  if (skipped.length && deps.withdrawEarly) await deps.withdrawEarly(uid, skipped.map((r) => ({ model: r.model, version: r.version, reason: r.reason })));
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

// ------------------------------------------------------------------ reading as images arrive

export interface ArrivingSeries {
  orthancSeries: string;
  orthancStudy: string;
  seriesUID: string;
  studyUID: string;
  modality: string | null;
  ignored: boolean;
}

async function seriesOf(deps: AdmitDeps, orthancSeries: string): Promise<ArrivingSeries | null> {
  const cache = (deps.seriesCache ??= new Map());
  let hit = cache.get(orthancSeries);
  if (!hit) {
    hit = (async () => {
      const s = await orthancGet<{ ParentStudy: string; MainDicomTags: Record<string, string | undefined> }>(deps.orthanc, `/series/${orthancSeries}`);
      const st = await orthancGet<{ MainDicomTags: Record<string, string | undefined> }>(deps.orthanc, `/studies/${s.ParentStudy}`);
      const studyUID = st.MainDicomTags.StudyInstanceUID ?? '';
      const seriesUID = s.MainDicomTags.SeriesInstanceUID ?? '';
      if (!studyUID || !seriesUID) return null;
      return { orthancSeries, orthancStudy: s.ParentStudy, seriesUID, studyUID, modality: s.MainDicomTags.Modality?.toUpperCase() ?? null, ignored: isIgnoredSeries(s.MainDicomTags) };
    })();
    hit.catch(() => cache.delete(orthancSeries));
    cache.set(orthancSeries, hit);
    if (cache.size > 2000) cache.delete(cache.keys().next().value as string);
  }
  return hit;
}

/** Runs `fn` over `items`, at most `n` at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}


/**
 * Each model's decision for a series, on its first instance's header: THE eligibility rule, the
 * declared value units (domain guard), then the AI controls. Decided once per series and model (kept
 * in preread_series); later instances of the series follow it.
 */
async function seriesDecisions(deps: AdmitDeps, series: ArrivingSeries, sopUID: string): Promise<{ model: string; decision: string; reason: string }[]> {
  const { db } = deps;
  const models = deps.models();
  const known = await db.selectFrom('preread_series').select(['model', 'decision', 'reason']).where('study_uid', '=', series.studyUID).where('series_uid', '=', series.seriesUID).execute();
  if (models.every((m) => known.some((k) => k.model === m.manifest.name))) return known;
  const path = dicomWebPath(deps.orthanc, `/studies/${encodeURIComponent(series.studyUID)}/series/${encodeURIComponent(series.seriesUID)}/instances/${encodeURIComponent(sopUID)}/metadata`);
  const meta = await orthancJson<DicomJson[]>(deps.orthanc, path, { headers: { accept: 'application/dicom+json' } });
  if (!Array.isArray(meta) || !meta.length) return known;
  const head = studyFacts(meta, {});
  const order = await orderFacts(db, series.studyUID, head.accessionNumber);
  const facts = { ...head, clinicalIndication: order.clinicalIndication?.trim() || null };
  const values: ValueFacts = valueFactsOf(meta[0]);
  const routing: RoutingDecision[] = models.map(({ manifest }) => {
    const base = { model: manifest.name, version: manifest.version };
    const e = eligibility(manifest, facts);
    if (!e.ok) return { ...base, decision: 'skip', reason: e.reason };
    const v = manifest.domain.intensity ? valuesDomain(manifest.domain.intensity, values) : ({ ok: true } as const);
    if (!v.ok) return { ...base, decision: 'skip', reason: v.reason };
    return { ...base, decision: 'run', reason: 'indicated', seriesId: series.orthancSeries, seriesInstanceUID: series.seriesUID };
  });
  const { routing: controlled } = await routeUnderControls(db, series.studyUID, facts.modality, routing);
  const now = new Date().toISOString();
  for (const r of controlled) {
    if (known.some((k) => k.model === r.model)) continue;
    await db
      .insertInto('preread_series')
      .values({ study_uid: series.studyUID, series_uid: series.seriesUID, model: r.model, orthanc_series: series.orthancSeries, decision: r.decision, reason: r.reason, value_facts: JSON.stringify(values), created_at: now })
      .onConflict((oc) => oc.columns(['study_uid', 'series_uid', 'model']).doNothing())
      .execute();
  }
  return db.selectFrom('preread_series').select(['model', 'decision', 'reason']).where('study_uid', '=', series.studyUID).where('series_uid', '=', series.seriesUID).execute();
}

/**
 * New instances from the change feed: each becomes one read per model that runs on its series (at most
 * one per study, model and SOP Instance UID, whatever the feed replays). The study's triage row comes
 * with its first flag (ingest.ts ingestEarlyFlag) or at stability (admitStudy). Instances that are gone, of
 * ignored series (SR, our own output) or of series no model runs on queue nothing. Returns the reads queued.
 */
export async function admitInstances(deps: AdmitDeps, instanceIds: readonly string[], log: (m: string) => void = () => {}): Promise<number> {
  const { db } = deps;
  const heads = await mapLimit(instanceIds, 8, async (id) => {
    try {
      const inst = await orthancGet<{ ParentSeries: string; MainDicomTags: { SOPInstanceUID?: string } }>(deps.orthanc, `/instances/${id}`);
      const series = await seriesOf(deps, inst.ParentSeries);
      if (!series || series.ignored || !inst.MainDicomTags.SOPInstanceUID) return null;
      return { id, sop: inst.MainDicomTags.SOPInstanceUID, series };
    } catch (e) {
      if (e instanceof OrthancError && e.status === 404) return null;
      log(`preread: arriving instance: ${(e as Error).message}`);
      return null;
    }
  });
  const bySeries = new Map<string, { id: string; sop: string; series: ArrivingSeries }[]>();
  for (const h of heads) if (h) bySeries.set(h.series.orthancSeries, [...(bySeries.get(h.series.orthancSeries) ?? []), h]);
  let queued = 0;
  const touched = new Set<string>();
  for (const group of bySeries.values()) {
    const series = group[0].series;
    let decisions: { model: string; decision: string; reason: string }[];
    try {
      decisions = await seriesDecisions(deps, series, group[0].sop);
    } catch (e) {
      // The stable study's admission lists every instance again: nothing is lost by skipping now.
      log(`preread: judging an arriving series: ${(e as Error).message}`);
      continue;
    }
    const run = decisions.filter((d) => d.decision === 'run');
    if (!run.length) continue;
    const now = new Date().toISOString();
    // Reads are claimed breadth-first across studies (rank = order of arrival within the study), so in a
    // burst every study's early slices are read before any study's late ones: flags do not queue behind
    // whole studies.
    let rank = Number((await db.selectFrom('preread_slices').select((eb) => eb.fn.countAll<number>().as('n')).where('study_uid', '=', series.studyUID).executeTakeFirst())?.n ?? 0);
    for (const h of group) {
      rank++;
      for (const r of run) {
        const res = await db
          .insertInto('preread_slices')
          .values({ id: crypto.randomUUID(), study_uid: series.studyUID, series_uid: series.seriesUID, model: r.model, sop_uid: h.sop, orthanc_instance: h.id, state: 'pending', created_at: now, started_at: null, finished_at: null, claimed_by: null, lease_until: null, result: null, last_error: null, reads: 0, rank })
          .onConflict((oc) => oc.columns(['study_uid', 'model', 'sop_uid']).doNothing())
          .executeTakeFirst();
        queued += Number(res.numInsertedOrUpdatedRows ?? 0n);
      }
    }
    touched.add(series.studyUID);
  }
  if (queued) deps.tick();
  for (const uid of touched) await deps.changed(uid);
  return queued;
}
