/**
 * Zero-click pre-read: follows Orthanc's change feed from a persisted cursor, routes each stable
 * study to the models whose indication matches, runs them in a worker pool from a durable job
 * table, stores the findings, computes the study's triage priority and raises critical alerts.
 *
 * Exactly-once rules: the cursor advances in the same transaction that records the study and its
 * jobs; a job's findings, its "done" state, the triage result and the outbox events are written in
 * one transaction too. A crash between the two leaves a "running" job, which start() puts back to
 * pending; finding ids are deterministic, so a re-run upserts the same rows.
 */
import crypto from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { DB, Store } from '../db/database.js';
import './migrations.js';
import '../outbox/schema.js';
import { appendAudit } from '../audit/audit.js';
import { ingestFindings, commitIngest, type IngestOutcome } from '../findings/ingest.js';
import { onSeriesChange } from '../findings/sr-arrivals.js';
import type { DomainEvents } from '../context.js';
import { isAiAllowed, rolloutTable } from '../trust/service.js';
import { onAiResultReady } from '../outbox/events.js';
import { rolloutModeOf } from '../../src/core/policy/policy.js';
import { FindingSchema, describeIssues, type Finding } from '../../src/core/findings/finding.js';
import { DEFAULT_TRIAGE_RULES, type TriageRules } from '../../src/core/triage/triage.js';
import type { TriageOutcome, TriageService, TriageView } from './triage.js';
import { backoffMs, deriveAiState, type AiState } from '../../src/core/triage/arrival.js';
import { describeStudy, fetchChanges, type OrthancAccess } from './pacs.js';
import { route, type ModelCatalog, type RoutingDecision } from './models.js';
import { orderFacts, seriesFactsOf } from '../trust/study-facts.js';
import { InferencePool, type WorkerResponse } from './pool.js';

export interface PrereadOptions {
  orthanc: OrthancAccess;
  catalog: ModelCatalog;
  /** How often the change feed is polled. */
  pollMs: number;
  /** A study not read within this long shows "AI unavailable" (it stays readable). */
  timeoutMs: number;
  workers: number;
  maxAttempts: number;
  backoffBaseMs: number;
  /** Critical alerts are also posted here, through the durable outbox. */
  alertWebhookUrl: string | null;
  /** Public base URL of the reading station, for links in webhook posts. */
  publicUrl: string | null;
  rules: TriageRules;
  log: (msg: string) => void;
  /** The gateway's domain event bus (findings-changed after an ingest). */
  events?: DomainEvents;
}

export function prereadOptionsFromEnv(env: NodeJS.ProcessEnv, base: Pick<PrereadOptions, 'orthanc' | 'catalog' | 'log'>): PrereadOptions {
  const num = (k: string, d: number) => {
    const v = env[k];
    if (v === undefined || v === '') return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${k} must be a non-negative number, got "${v}"`);
    return n;
  };
  return {
    ...base,
    pollMs: num('PREREAD_POLL_MS', 500),
    timeoutMs: num('PREREAD_TIMEOUT_MS', 60_000),
    workers: num('PREREAD_WORKERS', 1),
    maxAttempts: Math.max(1, num('PREREAD_MAX_ATTEMPTS', 3)),
    backoffBaseMs: num('PREREAD_BACKOFF_MS', 2_000),
    alertWebhookUrl: env.ALERT_WEBHOOK_URL || null,
    publicUrl: env.PUBLIC_URL || null,
    rules: DEFAULT_TRIAGE_RULES,
  };
}

export type { TriageEntry, TriageView, AlertEntry } from './triage.js';

export interface JobView {
  id: string;
  model: string;
  version: string;
  state: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  findingsCount: number | null;
  provider: string | null;
  durationMs: number | null;
}

/** GET /api/studies/:s/preread: the queue's routing and jobs, and the triage as the asking role may see it. */
export interface StudyPreread extends TriageView {
  fingerprint: string;
  instanceCount: number;
  flaggedAt: string | null;
  routing: RoutingDecision[];
  jobs: JobView[];
}

const FEED = 'orthanc';
const ACTOR = 'preread';

export class PrereadService {
  readonly pool: InferencePool;
  private readonly db: Kysely<DB>;
  private stopped = true;
  private feedTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private feedRunning: Promise<void> | null = null;
  private ticking = false;
  private tickAgain = false;
  private inFlight = new Set<Promise<void>>();
  private lastState = new Map<string, string>();
  private feedFailures = new Map<number, number>();

  /** `triage`: priority, alerts and the live feed (gateway/preread/triage.ts); the queue hands it each finished job. */
  constructor(
    store: Store,
    readonly opts: PrereadOptions,
    readonly triage: TriageService,
  ) {
    this.db = store.db;
    this.pool = new InferencePool(opts.workers, () => {
      void this.sweep();
      this.tick();
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    // A job "running" when we start was interrupted by a crash or restart: run it again.
    const resumed = await this.db.updateTable('preread_jobs').set({ state: 'pending', next_at: new Date().toISOString() }).where('state', '=', 'running').executeTakeFirst();
    if (Number(resumed.numUpdatedRows)) this.opts.log(`preread: resuming ${resumed.numUpdatedRows} interrupted job(s)`);
    if (this.opts.workers > 0) this.pool.start();
    this.scheduleFeed(0);
    this.sweepTimer = setInterval(() => void this.sweep(), 1000);
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.feedTimer) clearTimeout(this.feedTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.feedRunning;
    await this.pool.stop();
    await Promise.allSettled([...this.inFlight]);
  }

  /** AI down: stop the inference workers (queued jobs wait; studies show "unavailable"). */
  async stopWorkers(): Promise<void> {
    await this.pool.stop();
  }

  /** AI back: the queue drains. */
  startWorkers(): void {
    this.pool.start();
  }

  // ---------------------------------------------------------------- change feed

  private scheduleFeed(delay: number): void {
    if (this.stopped) return;
    this.feedTimer = setTimeout(() => {
      this.feedRunning = this.pollFeed()
        .catch((e) => this.opts.log(`preread: change feed: ${(e as Error).message}`))
        .finally(() => {
          this.feedRunning = null;
          this.scheduleFeed(this.opts.pollMs);
        });
    }, delay);
  }

  /** Reads the feed until it is drained. Exposed for tests and the bench. */
  async pollFeed(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const cur = await this.db.selectFrom('preread_cursor').select('last_seq').where('feed', '=', FEED).executeTakeFirst();
      const since = cur?.last_seq ?? 0;
      const page = await fetchChanges(this.opts.orthanc, since);
      let seq = since;
      for (const c of page.Changes) {
        if (this.stopped) return;
        await onSeriesChange({ db: this.db, orthanc: this.opts.orthanc, events: this.opts.events, log: this.opts.log }, c); // AI SRs are read by the server (findings/sr-arrivals.ts)
        if (c.ChangeType === 'StableStudy') {
          try {
            await this.onStableStudy(c.ID, c.Seq);
            this.feedFailures.delete(c.Seq);
          } catch (e) {
            // Retried on the next poll; a study that keeps failing must not hold up every later arrival.
            const n = (this.feedFailures.get(c.Seq) ?? 0) + 1;
            this.feedFailures.set(c.Seq, n);
            if (n < 5) throw e;
            this.feedFailures.delete(c.Seq);
            await appendAudit(this.db, { actor: ACTOR, action: 'preread-study-unreadable', outcome: 8, detail: { orthancStudy: c.ID, seq: c.Seq, error: (e as Error).message.slice(0, 300) } });
            this.opts.log(`preread: giving up on Orthanc study ${c.ID} (change ${c.Seq}): ${(e as Error).message}`);
            await this.setCursor(this.db, c.Seq);
          }
        }
        seq = c.Seq;
      }
      // Changes we do not act on: advance past them in one write.
      if (seq > since) await this.setCursor(this.db, seq);
      if (page.Done || page.Changes.length === 0) return;
    }
  }

  private async setCursor(db: Kysely<DB> | Transaction<DB>, seq: number): Promise<void> {
    const now = new Date().toISOString();
    await db
      .insertInto('preread_cursor')
      .values({ feed: FEED, last_seq: seq, updated_at: now })
      .onConflict((oc) => oc.column('feed').doUpdateSet({ last_seq: seq, updated_at: now }))
      .execute();
  }

  private async onStableStudy(orthancId: string, seq: number): Promise<void> {
    const study = await describeStudy(this.opts.orthanc, orthancId);
    if (!study || !study.studyInstanceUID) {
      await this.setCursor(this.db, seq);
      return;
    }
    const uid = study.studyInstanceUID;
    const existing = await this.db.selectFrom('preread_studies').selectAll().where('study_uid', '=', uid).executeTakeFirst();
    // Same images as last time (e.g. our own SR was added): nothing to read. Also no images at all.
    // A study resource with no images (an SR alone; or the same Study UID under another patient) is never read.
    if ((existing && existing.fingerprint === study.fingerprint) || study.instanceCount === 0) {
      await this.setCursor(this.db, seq);
      return;
    }
    const modality = study.imageSeries[0]?.modality ?? null;
    // THE study facts (src/core/study/facts.ts: each image series' WADO-RS metadata, and the HL7 order) under
    // THE eligibility rule (src/core/ai/eligibility.ts): the browser and ai-status decide with the same.
    const order = await orderFacts(this.db, uid, study.tags.AccessionNumber);
    const seriesFacts = await seriesFactsOf(this.opts.orthanc, uid, study.imageSeries.map((s) => ({ orthancId: s.id, seriesInstanceUID: s.seriesInstanceUID })), order);
    let routing = route(this.opts.catalog.list(), seriesFacts);
    const allowed = await isAiAllowed(this.db, { studyUID: uid, modality });
    let override: 'disabled' | null = null;
    if (!allowed.ok) {
      override = 'disabled';
      routing = routing.map((r) => ({ ...r, decision: 'skip', reason: allowed.reason }));
    } else {
      for (const r of routing) {
        if (r.decision !== 'run') continue;
        const m = await isAiAllowed(this.db, { studyUID: uid, modality, modelName: r.model });
        if (!m.ok) Object.assign(r, { decision: 'skip', reason: m.reason });
      }
    }
    const now = new Date().toISOString();
    const run = routing.filter((r) => r.decision === 'run');
    const skippedReason = routing.length === 0 ? 'no models installed' : override ? routing[0].reason : `AI skipped: ${routing.map((r) => r.reason).join('; ')}`;
    const created: string[] = [];
    await this.db.transaction().execute(async (trx) => {
      const row = {
        orthanc_id: orthancId,
        fingerprint: study.fingerprint,
        instance_count: study.instanceCount,
        modality,
        fingerprint_at: now,
        routing: JSON.stringify(routing),
        ai_override: override,
        // A re-read keeps the old flag until the new result is in; a first read starts unflagged.
        priority: existing?.priority ?? 'none',
        reason: run.length ? (existing?.reason ?? 'AI pending') : skippedReason,
        flagged_at: run.length ? (existing?.flagged_at ?? null) : now,
        updated_at: now,
      };
      if (existing) await trx.updateTable('preread_studies').set(row).where('study_uid', '=', uid).execute();
      else await trx.insertInto('preread_studies').values({ study_uid: uid, arrived_at: now, ...row }).execute();
      for (const r of run) {
        const id = crypto.randomUUID();
        const res = await trx
          .insertInto('preread_jobs')
          .values({
            id,
            study_uid: uid,
            model: r.model,
            model_version: r.version,
            fingerprint: study.fingerprint,
            payload: JSON.stringify({ seriesId: r.seriesId, seriesInstanceUID: r.seriesInstanceUID, orthancStudyId: orthancId }),
            state: 'pending',
            attempts: 0,
            next_at: now,
            created_at: now,
          })
          .onConflict((oc) => oc.columns(['study_uid', 'model', 'fingerprint']).doNothing())
          .executeTakeFirst();
        if (Number(res.numInsertedOrUpdatedRows ?? 0n)) created.push(r.model);
      }
      await this.setCursor(trx, seq);
    });
    await appendAudit(this.db, {
      actor: ACTOR,
      action: existing ? 'preread-study-changed' : 'preread-study-arrived',
      studyUID: uid,
      detail: { fingerprint: study.fingerprint, routing: routing.map((r) => ({ model: r.model, decision: r.decision, reason: r.reason })) },
    });
    await this.emitTriage(uid);
    this.tick();
  }

  // ---------------------------------------------------------------- jobs

  /** Hands due jobs to idle workers. Re-entrant calls coalesce. */
  tick(): void {
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    void this.fill()
      .catch((e) => this.opts.log(`preread: scheduler: ${(e as Error).message}`))
      .finally(() => {
        this.ticking = false;
        if (this.tickAgain) {
          this.tickAgain = false;
          this.tick();
        }
      });
  }

  private async fill(): Promise<void> {
    if (this.stopped) return;
    const idle = this.pool.idle;
    if (idle <= 0) return;
    const now = new Date().toISOString();
    const due = await this.db.selectFrom('preread_jobs').selectAll().where('state', '=', 'pending').where('next_at', '<=', now).orderBy('created_at').limit(idle).execute();
    for (const job of due) {
      const claimed = await this.db.updateTable('preread_jobs').set({ state: 'running', started_at: now }).where('id', '=', job.id).where('state', '=', 'pending').executeTakeFirst();
      if (!Number(claimed.numUpdatedRows)) continue;
      const model = this.opts.catalog.list().find((m) => m.manifest.name === job.model);
      const payload = JSON.parse(job.payload) as { seriesId: string };
      await appendAudit(this.db, { actor: ACTOR, action: 'preread-inference-started', studyUID: job.study_uid, detail: { job: job.id, model: job.model, attempt: job.attempts + 1 } });
      await this.emitTriage(job.study_uid);
      const p: Promise<void> = (async () => {
        const res: WorkerResponse = model
          ? await this.pool.run({ jobId: job.id, studyInstanceUID: job.study_uid, seriesId: payload.seriesId, manifestDir: model.dir, orthanc: this.opts.orthanc })
          : { type: 'error', jobId: job.id, message: `model ${job.model} is no longer installed` };
        if (res.type === 'result') await this.complete(job.id, res);
        else await this.fail(job.id, res.message);
      })()
        .catch((e) => this.opts.log(`preread: job ${job.id}: ${(e as Error).message}`))
        .finally(() => {
          this.inFlight.delete(p);
          this.tick();
        });
      this.inFlight.add(p);
    }
    // Jobs waiting out a back-off: come back when the first is due.
    const next = await this.db.selectFrom('preread_jobs').select('next_at').where('state', '=', 'pending').orderBy('next_at').limit(1).executeTakeFirst();
    if (next && !this.stopped) {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.tick(), Math.max(50, Date.parse(next.next_at) - Date.now()));
    }
  }

  private async complete(jobId: string, res: Extract<WorkerResponse, { type: 'result' }>): Promise<void> {
    const job = await this.db.selectFrom('preread_jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    if (!job || job.state !== 'running') return;
    const findings: Finding[] = [];
    for (const [i, raw] of res.findings.entries()) {
      const r = raw as Record<string, unknown>;
      const parsed = FindingSchema.safeParse({ ...r, id: typeof r.id === 'string' && r.id ? r.id : `${jobId}-${i}`, studyInstanceUID: job.study_uid, source: 'preread' });
      if (!parsed.success) return this.fail(jobId, `model output ${i} is not a valid finding: ${describeIssues(parsed.error).join('; ')}`);
      findings.push(parsed.data);
    }
    const rollout = await rolloutTable(this.db);
    const manufacturer = this.opts.catalog.list().find((m) => m.manifest.name === job.model)?.manifest.manufacturer ?? findings[0]?.model.manufacturer ?? 'Reading Station Demo';
    let ingested: IngestOutcome | null = null;
    const now = new Date().toISOString();
    // Policy and study facts are read before the transaction (one connection: reading them inside would wait on it).
    const prep = await this.triage.prepare(job.study_uid);
    let committed = false;
    let triage: TriageOutcome | null = null;
    await this.db.transaction().execute(async (trx) => {
      const fresh = await trx.selectFrom('preread_jobs').select('state').where('id', '=', jobId).executeTakeFirst();
      if (fresh?.state !== 'running') return;
      // The one ingestion path: stamps, keeps verdicts, supersedes this model's older unverified result, after sign-off a separate set.
      ingested = await ingestFindings(trx, { studyUID: job.study_uid, source: 'preread', actor: { username: ACTOR }, model: { name: job.model, version: job.model_version, manufacturer }, findings, completeResultSet: true, detail: { job: jobId } });
      await trx
        .updateTable('preread_jobs')
        .set({ state: 'done', finished_at: now, findings_count: findings.length, provider: res.provider, duration_ms: res.timings.totalMs ?? null, last_error: null })
        .where('id', '=', jobId)
        .execute();
      // The study's triage from its current findings through the reader policy (study disable, rollout,
      // indication; a radiologist's rejection lowers it), its alert and webhook: same transaction.
      triage = await this.triage.applyInTx(trx, job.study_uid, prep, { cause: 'ingest', actor: ACTOR, fingerprint: job.fingerprint });
      committed = true;
      // The unverified AI SR and the preliminary ORU, in this transaction (durable outbox). A silent or
      // switched-off model's result is recorded but never leaves the building.
      if (rolloutModeOf(rollout, job.model) === 'assistive') {
        await onAiResultReady(trx, { studyInstanceUID: job.study_uid, findings, model: { name: job.model, version: job.model_version, manufacturer }, priority: (triage as TriageOutcome | null)?.to.priority ?? 'none' });
      }
    });
    if (!committed) return;
    if (ingested) await commitIngest({ db: this.db, events: this.opts.events }, ingested);
    const t = triage as TriageOutcome | null;
    await appendAudit(this.db, { actor: ACTOR, action: 'preread-inference-finished', studyUID: job.study_uid, detail: { job: jobId, model: job.model, findings: findings.length, provider: res.provider, ms: res.timings.totalMs, priority: t?.to.priority ?? 'none' } });
    if (t) await this.triage.publish(t);
    else this.triage.notify(job.study_uid);
  }

  private async fail(jobId: string, message: string): Promise<void> {
    const job = await this.db.selectFrom('preread_jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    if (!job || job.state !== 'running') return;
    const now = Date.now();
    // Workers stopped under it: not the model's fault, so no attempt is spent.
    if (message === 'inference workers stopped' || message === 'no idle inference worker') {
      await this.db.updateTable('preread_jobs').set({ state: 'pending', next_at: new Date(now).toISOString() }).where('id', '=', jobId).execute();
      await this.emitTriage(job.study_uid);
      return;
    }
    const attempts = job.attempts + 1;
    const final = attempts >= this.opts.maxAttempts;
    await this.db
      .updateTable('preread_jobs')
      .set({ state: final ? 'failed' : 'pending', attempts, last_error: message.slice(0, 1000), next_at: new Date(now + backoffMs(attempts, this.opts.backoffBaseMs)).toISOString(), finished_at: final ? new Date(now).toISOString() : null })
      .where('id', '=', jobId)
      .execute();
    await appendAudit(this.db, { actor: ACTOR, action: 'preread-inference-failed', outcome: final ? 8 : 4, studyUID: job.study_uid, detail: { job: jobId, model: job.model, attempt: attempts, final, error: message.slice(0, 500) } });
    if (final) {
      const open = await this.db.selectFrom('preread_jobs').select('state').where('study_uid', '=', job.study_uid).where('fingerprint', '=', job.fingerprint).execute();
      if (!open.some((j) => j.state === 'done' || j.state === 'pending' || j.state === 'running')) {
        await this.db.updateTable('preread_studies').set({ reason: `AI failed: ${message.slice(0, 200)}`, updated_at: new Date().toISOString() }).where('study_uid', '=', job.study_uid).where('priority', '=', 'none').execute();
      }
    }
    await this.emitTriage(job.study_uid);
  }

  // ---------------------------------------------------------------- state

  private async jobsByStudy(studyUIDs?: string[]): Promise<Map<string, { state: string }[]>> {
    let q = this.db
      .selectFrom('preread_jobs')
      .innerJoin('preread_studies', (j) => j.onRef('preread_studies.study_uid', '=', 'preread_jobs.study_uid').onRef('preread_studies.fingerprint', '=', 'preread_jobs.fingerprint'))
      .select(['preread_jobs.study_uid as study_uid', 'preread_jobs.state as state']);
    if (studyUIDs) q = q.where('preread_jobs.study_uid', 'in', studyUIDs);
    const m = new Map<string, { state: string }[]>();
    for (const r of await q.execute()) {
      const l = m.get(r.study_uid) ?? [];
      l.push({ state: r.state });
      m.set(r.study_uid, l);
    }
    return m;
  }

  /** The AI state a study shows, from its current jobs: the queue's rule (workers up, wait limit). */
  aiStateOf(row: DB['preread_studies'], jobs: { state: string }[], now: number): AiState {
    return deriveAiState({
      jobs: jobs as { state: 'pending' | 'running' | 'done' | 'failed' }[],
      override: row.ai_override === 'disabled' ? 'disabled' : null,
      workersUp: this.pool.up,
      waitedMs: now - Date.parse(row.fingerprint_at),
      timeoutMs: this.opts.timeoutMs,
    });
  }

  /** Routing and jobs of one study (the queue's part of GET /api/studies/:s/preread; triage adds the role's view). */
  async study(studyUID: string): Promise<(Omit<StudyPreread, keyof TriageView> & { studyUID: string; aiState: AiState }) | null> {
    const row = await this.db.selectFrom('preread_studies').selectAll().where('study_uid', '=', studyUID).executeTakeFirst();
    if (!row) return null;
    const jobs = await this.db.selectFrom('preread_jobs').selectAll().where('study_uid', '=', studyUID).orderBy('created_at').execute();
    const current = jobs.filter((j) => j.fingerprint === row.fingerprint);
    return {
      studyUID,
      aiState: this.aiStateOf(row, current, Date.now()),
      fingerprint: row.fingerprint,
      instanceCount: row.instance_count,
      flaggedAt: row.flagged_at,
      routing: JSON.parse(row.routing) as RoutingDecision[],
      jobs: jobs.map((j) => ({
        id: j.id,
        model: j.model,
        version: j.model_version,
        state: j.state,
        attempts: j.attempts,
        lastError: j.last_error,
        createdAt: j.created_at,
        startedAt: j.started_at,
        finishedAt: j.finished_at,
        findingsCount: j.findings_count,
        provider: j.provider,
        durationMs: j.duration_ms,
      })),
    };
  }

  /** A study's AI state may have changed (job claimed, failed, re-queued): live views are told. */
  private async emitTriage(studyUID: string): Promise<void> {
    const row = await this.db.selectFrom('preread_studies').selectAll().where('study_uid', '=', studyUID).executeTakeFirst();
    if (!row) return;
    const jobs = (await this.jobsByStudy([studyUID])).get(studyUID) ?? [];
    this.lastState.set(studyUID, `${this.aiStateOf(row, jobs, Date.now())}|${row.priority}|${row.reason}`);
    this.triage.notify(studyUID);
  }

  /** Time passes too: a study whose wait runs over the limit (or whose workers went away) turns "unavailable". */
  private async sweep(): Promise<void> {
    if (this.stopped) return;
    try {
      // Only studies whose state can change with time: open jobs now, or open when last told.
      const open = new Set((await this.db.selectFrom('preread_jobs').select('study_uid').where('state', 'in', ['pending', 'running']).distinct().execute()).map((r) => r.study_uid));
      for (const [uid, key] of this.lastState) if (/^(pending|running|unavailable)\|/.test(key)) open.add(uid);
      if (!open.size) return;
      const uids = [...open];
      const rows = await this.db.selectFrom('preread_studies').selectAll().where('study_uid', 'in', uids).execute();
      const jobs = await this.jobsByStudy(uids);
      const now = Date.now();
      for (const r of rows) {
        const key = `${this.aiStateOf(r, jobs.get(r.study_uid) ?? [], now)}|${r.priority}|${r.reason}`;
        const prev = this.lastState.get(r.study_uid);
        if (prev !== undefined && prev !== key) this.triage.notify(r.study_uid);
        this.lastState.set(r.study_uid, key);
      }
    } catch (e) {
      this.opts.log(`preread: sweep: ${(e as Error).message}`);
    }
  }
}
