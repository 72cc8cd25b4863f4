/**
 * The pre-read queue, two kinds of durable work:
 *  - reads (`preread_slices`): one instance by one model, queued as the instance arrives
 *    (arrival.ts admitInstances), claimed by an idle inference worker, its per-slice output stored; a
 *    slice carrying a critical finding raises the flag at once (ingest.ts ingestEarlyFlag);
 *  - jobs (`preread_jobs`): one per stable study, model and image set, completed or failed with
 *    exponential back-off. A job reads nothing itself: it makes sure every instance of its series has
 *    its read (adding those the feed missed, retrying failed ones), waits for them, then decodes the
 *    stored per-slice outputs in stack order (cross-slice linking, the domain guard on the summed
 *    statistics) into the study's result: the same result a whole-study read gives, nothing read twice.
 * And the AI state a study shows from its jobs (pending / running / done / failed / unavailable).
 *
 * Jobs are claimed with the dialect's claim (gateway/db/dialect.ts claimRows: one UPDATE, FOR UPDATE
 * SKIP LOCKED on PostgreSQL), so several gateway processes on one database never run the same job. A
 * claim carries the process and a lease the runner renews every second; a job whose lease ran out (its
 * process died) is put back to pending by whichever process sees it. On SQLite (one process) a job
 * "running" at start was interrupted by a crash and is put back at once.
 * What a finished job's output becomes is ingest.ts's job.
 */
import crypto from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../db/database.js';
import './migrations.js';
import { appendAudit, withAudit } from '../audit/audit.js';
import { claimRows, dialectOf } from '../db/dialect.js';
import { backoffMs, deriveAiState, type AiState } from '../../src/core/triage/arrival.js';
import { InferencePool, type SliceOutput } from './pool.js';
import { orthancGet, type OrthancClient } from '../orthanc/client.js';
import type { InstalledModel, RoutingDecision } from './models.js';
import { parseModelOutput, type FinishedJob } from './ingest.js';
import type { Finding } from '../../src/core/findings/finding.js';
import { sortSlices } from './slices.js';
import { toFindings } from '../../src/core/ai/to-findings.js';
import { addStats, domainGuard, type IntensityStats, type ValueFacts } from '../../src/core/ai/domain.js';
import { ARRIVING } from './arriving.js';

const ACTOR = 'preread';
/** Failures that are not the model's: the worker went away under the job. No attempt is spent. */
const NOT_THE_MODELS_FAULT = new Set(['inference workers stopped', 'no idle inference worker']);
/**
 * A claim's lease, by default: renewed every second while the job runs, so only a dead process lets it
 * run out; then another gateway takes the job over (PREREAD_LEASE_MS: shorter takes over sooner, but a
 * gateway stalled for longer than it, say by a long GC or a slow database, loses its jobs).
 */
export const LEASE_MS = 30_000;
/** Jobs decoding (or waiting for their reads) at once in one process: they hold no worker, but each polls. */
const MAX_FINALISING = 64;

/**
 * THE domain guard (src/core/ai/domain.ts) on a series' stored reads: the declared units from the
 * first read's header, the intensity statistics summed over every slice given. Pure.
 */
export function seriesVerdict(domain: Parameters<typeof domainGuard>[0], outputs: readonly Pick<SliceOutput, 'stats' | 'values'>[]): ReturnType<typeof domainGuard> {
  const withStats = outputs.filter((o): o is typeof o & { stats: IntensityStats } => o.stats !== null);
  const sum = withStats.length ? withStats.slice(1).reduce((a, o) => addStats(a, o.stats), withStats[0].stats) : null;
  const values: ValueFacts = outputs[0]?.values ?? {};
  return domainGuard(domain, values, sum);
}

export interface QueueOptions {
  workers: number;
  maxAttempts: number;
  backoffBaseMs: number;
  /** A study not read within this long shows "AI unavailable" (it stays readable). */
  timeoutMs: number;
  /** How long a claim holds a job without renewal (default LEASE_MS). */
  leaseMs?: number;
  log: (msg: string) => void;
}

export interface QueueDeps {
  db: Kysely<DB>;
  orthanc: OrthancClient;
  /** The installed models (THE registry): a job whose model was removed fails. */
  models: () => InstalledModel[];
  /** Stores a finished job's findings (ingest.ts); `markDone` is the queue's part of that transaction. */
  ingest: (job: FinishedJob, findings: Finding[], meta: { provider: string; ms: number | null; outcome?: string | null }, markDone: (trx: Transaction<DB>) => Promise<boolean>) => Promise<boolean>;
  /** A slice just read: when it carries a critical finding (and the series so far is inside the domain), flag the study now. */
  sliceRead: (read: { studyUID: string; seriesUID: string; model: InstalledModel; slice: SliceOutput; provider: string }) => Promise<void>;
  /** A study's AI state may have changed: live views are told. */
  changed: (studyUID: string) => void | Promise<void>;
}

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
  /** Why a finished job counted no output ("outside the model's domain: …"); null otherwise. */
  outcome: string | null;
}

/**
 * Creates a job per model routing decided to run (in the caller's transaction, with the study row and
 * the feed cursor). At most one job per study, model and image set. Returns the models queued now.
 */
export async function createJobs(trx: Transaction<DB> | Kysely<DB>, study: { uid: string; orthancId: string; fingerprint: string }, runs: RoutingDecision[], now: string): Promise<string[]> {
  const created: string[] = [];
  for (const r of runs) {
    const res = await trx
      .insertInto('preread_jobs')
      .values({
        id: crypto.randomUUID(),
        study_uid: study.uid,
        model: r.model,
        model_version: r.version,
        fingerprint: study.fingerprint,
        payload: JSON.stringify({ seriesId: r.seriesId, seriesInstanceUID: r.seriesInstanceUID, orthancStudyId: study.orthancId }),
        state: 'pending',
        attempts: 0,
        next_at: now,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(['study_uid', 'model', 'fingerprint']).doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0n)) created.push(r.model);
  }
  return created;
}

/** What a failed attempt does to a job: retried after a back-off, or failed for good. Pure. */
export function afterFailure(attempts: number, opts: Pick<QueueOptions, 'maxAttempts' | 'backoffBaseMs'>, now: number): { state: 'pending' | 'failed'; attempts: number; nextAt: string; finishedAt: string | null } {
  const n = attempts + 1;
  const final = n >= opts.maxAttempts;
  return { state: final ? 'failed' : 'pending', attempts: n, nextAt: new Date(now + backoffMs(n, opts.backoffBaseMs)).toISOString(), finishedAt: final ? new Date(now).toISOString() : null };
}

export class PrereadQueue {
  readonly pool: InferencePool;
  private stopped = true;
  private sweepTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private ticking = false;
  private tickAgain = false;
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Reads this process runs (their leases are renewed like jobs'). */
  private readonly readsInFlight = new Map<string, Promise<void>>();
  /** Jobs waiting for their series' reads are woken when a read of this process settles. */
  private waiters: (() => void)[] = [];
  /** This process's name on the jobs it claims. */
  readonly instance = crypto.randomUUID();
  /** The AI state each study showed when last told, so the sweep tells live views only of changes. */
  private readonly lastState = new Map<string, string>();

  private readonly leaseMs: number;

  constructor(
    private readonly deps: QueueDeps,
    readonly opts: QueueOptions,
  ) {
    this.leaseMs = opts.leaseMs ?? LEASE_MS;
    this.pool = new InferencePool(opts.workers, () => {
      void this.sweep();
      this.tick();
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    // A job "running" when we start was interrupted by a crash or restart: run it again. With several
    // processes on PostgreSQL only those whose lease ran out (the others' are still being run).
    const now = new Date().toISOString();
    let q = this.deps.db.updateTable('preread_jobs').set({ state: 'pending', next_at: now, claimed_by: null, lease_until: null }).where('state', '=', 'running');
    if (dialectOf(this.deps.db) === 'postgres') q = q.where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]));
    const resumed = await q.executeTakeFirst();
    if (Number(resumed.numUpdatedRows)) this.opts.log(`preread: resuming ${resumed.numUpdatedRows} interrupted job(s)`);
    let qs = this.deps.db.updateTable('preread_slices').set({ state: 'pending', claimed_by: null, lease_until: null }).where('state', '=', 'running');
    if (dialectOf(this.deps.db) === 'postgres') qs = qs.where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]));
    await qs.execute();
    if (this.opts.workers > 0) this.pool.start();
    this.sweepTimer = setInterval(() => void this.sweep(), 1000);
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.pool.stop();
    this.wake();
    await Promise.allSettled([...this.inFlight.values(), ...this.readsInFlight.values()]);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when a read of this process settles, or after `ms` (reads may run in another process). */
  private readSettled(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

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

  /** Claims up to `n` due jobs for this process, oldest first; a job another process claimed is never returned. */
  private claim(n: number, now: Date): Promise<DB['preread_jobs'][]> {
    const at = now.toISOString();
    return claimRows<DB['preread_jobs']>(this.deps.db, {
      table: 'preread_jobs',
      key: 'id',
      where: sql`state = 'pending' AND next_at <= ${at}`,
      set: { state: 'running', started_at: at, claimed_by: this.instance, lease_until: new Date(now.getTime() + this.leaseMs).toISOString() },
      orderBy: 'created_at',
      limit: n,
    });
  }

  /** Claims up to `n` pending reads for this process, oldest first; a read another process claimed is never returned. */
  private claimReads(n: number, now: Date): Promise<DB['preread_slices'][]> {
    const at = now.toISOString();
    return claimRows<DB['preread_slices']>(this.deps.db, {
      table: 'preread_slices',
      key: 'id',
      where: sql`state = 'pending'`,
      set: { state: 'running', started_at: at, claimed_by: this.instance, lease_until: new Date(now.getTime() + this.leaseMs).toISOString(), reads: sql`reads + 1` },
      // Breadth-first across studies (arrival.ts), then oldest first.
      orderBy: 'rank',
      limit: n,
    });
  }

  private async fill(): Promise<void> {
    if (this.stopped || !this.pool.up) return;
    const { db } = this.deps;
    // Reads first: they are what the inference workers do, and what a study's flag waits for.
    const idle = this.pool.idle;
    if (idle > 0) {
      for (const read of await this.claimReads(idle, new Date())) {
        const p = this.read(read)
          .catch((e) => this.opts.log(`preread: read ${read.id}: ${(e as Error).message}`))
          .finally(() => {
            this.readsInFlight.delete(read.id);
            this.wake();
            this.tick();
          });
        this.readsInFlight.set(read.id, p);
      }
    }
    // Jobs wait for their reads and decode what was stored: no worker of their own, a bounded number at once.
    const room = MAX_FINALISING - this.inFlight.size;
    if (room > 0) {
      for (const job of await this.claim(room, new Date())) {
        const p: Promise<void> = this.finalise(job)
          .catch((e) => this.fail(job.id, (e as Error).message ?? String(e)))
          .catch((e) => this.opts.log(`preread: job ${job.id}: ${(e as Error).message}`))
          .finally(() => {
            this.inFlight.delete(job.id);
            this.tick();
          });
        this.inFlight.set(job.id, p);
      }
    }
    // Jobs waiting out a back-off: come back when the first is due.
    const next = await db.selectFrom('preread_jobs').select('next_at').where('state', '=', 'pending').orderBy('next_at').limit(1).executeTakeFirst();
    if (next && !this.stopped) {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.tick(), Math.max(50, Date.parse(next.next_at) - Date.now()));
    }
  }

  /** One instance read by one model in a worker; its output stored (still ours), then the early flag. */
  private async read(row: DB['preread_slices']): Promise<void> {
    const { db } = this.deps;
    const model = this.deps.models().find((m) => m.manifest.name === row.model);
    const res = model
      ? await this.pool.run({ jobId: row.id, studyInstanceUID: row.study_uid, instanceId: row.orthanc_instance, manifestDir: model.dir, orthanc: this.deps.orthanc })
      : { type: 'error' as const, jobId: row.id, message: `model ${row.model} is no longer installed` };
    const now = new Date().toISOString();
    if (res.type === 'error') {
      const back = NOT_THE_MODELS_FAULT.has(res.message);
      await db
        .updateTable('preread_slices')
        .set(back ? { state: 'pending', claimed_by: null, lease_until: null } : { state: 'failed', finished_at: now, last_error: res.message.slice(0, 1000), claimed_by: null, lease_until: null })
        .where('id', '=', row.id)
        .where('state', '=', 'running')
        .where('claimed_by', '=', this.instance)
        .execute();
      return;
    }
    // The output is stored first (still "running"), then a critical slice flags the study, and only then
    // is the read done: a job waiting for its reads never decodes before a flag it must keep has landed.
    const stored = await db
      .updateTable('preread_slices')
      .set({ result: JSON.stringify(res.slice) })
      .where('id', '=', row.id)
      .where('state', '=', 'running')
      .where('claimed_by', '=', this.instance)
      .executeTakeFirst();
    if (!Number(stored.numUpdatedRows)) return;
    if (model && res.slice.detections.length) {
      try {
        await this.deps.sliceRead({ studyUID: row.study_uid, seriesUID: row.series_uid, model, slice: res.slice, provider: res.provider });
      } catch (e) {
        // The flag waits for the study's result then; the read itself is good.
        this.opts.log(`preread: early flag for a read of ${row.model}: ${(e as Error).message}`);
      }
    }
    await db
      .updateTable('preread_slices')
      .set({ state: 'done', finished_at: new Date().toISOString(), last_error: null, claimed_by: null, lease_until: null })
      .where('id', '=', row.id)
      .where('state', '=', 'running')
      .where('claimed_by', '=', this.instance)
      .execute();
  }

  /**
   * A job's attempt: every instance of its series gets its read (the feed's misses added, failed reads
   * tried again), then, once all are in, the stored per-slice outputs are decoded in stack order.
   */
  private async finalise(job: DB['preread_jobs']): Promise<void> {
    const { db } = this.deps;
    const model = this.deps.models().find((m) => m.manifest.name === job.model);
    const payload = JSON.parse(job.payload) as { seriesId: string; seriesInstanceUID?: string };
    await appendAudit(db, { actor: ACTOR, action: 'preread-inference-started', studyUID: job.study_uid, detail: { job: job.id, model: job.model, attempt: job.attempts + 1 } });
    await this.changed(job.study_uid);
    if (!model) return this.fail(job.id, `model ${job.model} is no longer installed`);
    const t0 = performance.now();
    const instances = await orthancGet<{ ID: string; MainDicomTags: { SOPInstanceUID?: string } }[]>(this.deps.orthanc, `/series/${payload.seriesId}/instances`);
    const seriesUID = payload.seriesInstanceUID || (await orthancGet<{ MainDicomTags: { SeriesInstanceUID?: string } }>(this.deps.orthanc, `/series/${payload.seriesId}`)).MainDicomTags.SeriesInstanceUID || '';
    const sops = new Set<string>();
    const now = new Date().toISOString();
    for (const i of instances) {
      const sop = i.MainDicomTags.SOPInstanceUID;
      if (!sop) continue;
      sops.add(sop);
      await db
        .insertInto('preread_slices')
        .values({ id: crypto.randomUUID(), study_uid: job.study_uid, series_uid: seriesUID, model: job.model, sop_uid: sop, orthanc_instance: i.ID, state: 'pending', created_at: now, started_at: null, finished_at: null, claimed_by: null, lease_until: null, result: null, last_error: null, reads: 0, rank: 0 })
        .onConflict((oc) => oc.columns(['study_uid', 'model', 'sop_uid']).doNothing())
        .execute();
    }
    // A new attempt gives the reads that failed another go (the attempt count and back-off are the job's).
    await db.updateTable('preread_slices').set({ state: 'pending', last_error: null }).where('study_uid', '=', job.study_uid).where('model', '=', job.model).where('series_uid', '=', seriesUID).where('state', '=', 'failed').execute();
    this.tick();
    let rows: { sop_uid: string; state: string; result: string | null; last_error: string | null }[];
    for (;;) {
      if (this.stopped) return this.fail(job.id, 'inference workers stopped');
      rows = (await db.selectFrom('preread_slices').select(['sop_uid', 'state', 'result', 'last_error']).where('study_uid', '=', job.study_uid).where('model', '=', job.model).where('series_uid', '=', seriesUID).execute()).filter((r) => sops.has(r.sop_uid));
      if (rows.every((r) => r.state === 'done' || r.state === 'failed')) break;
      await this.readSettled(250);
    }
    const failed = rows.find((r) => r.state === 'failed');
    if (failed) return this.fail(job.id, failed.last_error ?? 'an instance could not be read');
    const outputs = sortSlices(rows.map((r) => JSON.parse(r.result!) as SliceOutput));
    const m = model.manifest;
    const verdict = seriesVerdict(m.domain, outputs);
    const provider = 'wasm';
    const ms = Math.round(performance.now() - t0);
    const raw = verdict.ok
      ? toFindings({
          manifest: m,
          studyInstanceUID: job.study_uid,
          slices: outputs.map((o) => ({ image: o.image, columns: o.columns, rows: o.rows, detections: o.detections })),
          provider,
          timingsMs: { decodeMs: ms },
          source: 'preread',
          createdAt: new Date().toISOString(),
        })
      : [];
    const out = parseModelOutput(job.id, job.study_uid, raw);
    if (!out.ok) return this.fail(job.id, out.error);
    if (!verdict.ok) {
      await appendAudit(db, { actor: ACTOR, action: 'preread-outside-domain', outcome: 4, studyUID: job.study_uid, detail: { job: job.id, model: job.model, series: seriesUID, reason: verdict.reason } });
    }
    await this.complete(job.id, out.findings, { provider, ms, outcome: verdict.ok ? null : verdict.reason });
  }

  private async complete(jobId: string, findings: Finding[], meta: { provider: string; ms: number; outcome: string | null }): Promise<void> {
    const job = await this.deps.db.selectFrom('preread_jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    if (!job || job.state !== 'running') return;
    const now = new Date().toISOString();
    await this.deps.ingest(job, findings, meta, async (trx) => {
      const fresh = await trx.selectFrom('preread_jobs').select(['state', 'claimed_by']).where('id', '=', jobId).executeTakeFirst();
      // Still ours: a job whose lease ran out may have been claimed by another process meanwhile.
      if (fresh?.state !== 'running' || (fresh.claimed_by !== null && fresh.claimed_by !== this.instance)) return false;
      await trx
        .updateTable('preread_jobs')
        .set({ state: 'done', finished_at: now, findings_count: findings.length, provider: meta.provider, duration_ms: meta.ms, last_error: null, outcome: meta.outcome })
        .where('id', '=', jobId)
        .execute();
      return true;
    });
  }

  private async fail(jobId: string, message: string): Promise<void> {
    const { db } = this.deps;
    const job = await db.selectFrom('preread_jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    if (!job || job.state !== 'running' || (job.claimed_by !== null && job.claimed_by !== this.instance)) return;
    const now = Date.now();
    if (NOT_THE_MODELS_FAULT.has(message)) {
      await db.updateTable('preread_jobs').set({ state: 'pending', next_at: new Date(now).toISOString(), claimed_by: null, lease_until: null }).where('id', '=', jobId).execute();
      await this.changed(job.study_uid);
      return;
    }
    const next = afterFailure(job.attempts, this.opts, now);
    const final = next.state === 'failed';
    // The job's new state and its audit record: one transaction.
    await withAudit(db, async (trx) => {
      await trx
        .updateTable('preread_jobs')
        .set({ state: next.state, attempts: next.attempts, last_error: message.slice(0, 1000), next_at: next.nextAt, finished_at: next.finishedAt, claimed_by: null, lease_until: null })
        .where('id', '=', jobId)
        .execute();
      return { value: undefined, audit: { actor: ACTOR, action: 'preread-inference-failed', outcome: final ? 8 : 4, studyUID: job.study_uid, detail: { job: jobId, model: job.model, attempt: next.attempts, final, error: message.slice(0, 500) } } };
    });
    if (final) {
      const open = await db.selectFrom('preread_jobs').select('state').where('study_uid', '=', job.study_uid).where('fingerprint', '=', job.fingerprint).execute();
      if (!open.some((j) => j.state === 'done' || j.state === 'pending' || j.state === 'running')) {
        await db.updateTable('preread_studies').set({ reason: `AI failed: ${message.slice(0, 200)}`, updated_at: new Date().toISOString() }).where('study_uid', '=', job.study_uid).where('priority', '=', 'none').execute();
      }
    }
    await this.changed(job.study_uid);
  }

  // ---------------------------------------------------------------- state

  /** The current image set's jobs of each study (a re-read's older jobs do not count). */
  async jobsByStudy(studyUIDs?: string[]): Promise<Map<string, { state: string }[]>> {
    let q = this.deps.db
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

  /** The AI state a study shows, from its current jobs: workers up, wait limit. */
  aiStateOf(row: DB['preread_studies'], jobs: { state: string }[], now: number): AiState {
    // Images still arriving: their reads are under way (no job until the study is stable).
    if (row.fingerprint === ARRIVING && row.ai_override !== 'disabled') return this.pool.up ? 'running' : 'unavailable';
    return deriveAiState({
      jobs: jobs as { state: 'pending' | 'running' | 'done' | 'failed' }[],
      override: row.ai_override === 'disabled' ? 'disabled' : null,
      workersUp: this.pool.up,
      waitedMs: now - Date.parse(row.fingerprint_at),
      timeoutMs: this.opts.timeoutMs,
    });
  }

  /** All jobs of one study, oldest first. */
  async jobsOf(studyUID: string): Promise<JobView[]> {
    return (await this.jobsWithImageSet(studyUID)).map((j) => j.view);
  }

  /**
   * All jobs of one study with the image set each read, from ONE query: a study's AI state and its
   * job list are derived from the same snapshot, so an answer never says "done" beside a running job.
   */
  async jobsWithImageSet(studyUID: string): Promise<{ view: JobView; fingerprint: string }[]> {
    const jobs = await this.deps.db.selectFrom('preread_jobs').selectAll().where('study_uid', '=', studyUID).orderBy('created_at').execute();
    return jobs.map((j) => ({
      fingerprint: j.fingerprint,
      view: {
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
        outcome: j.outcome ?? null,
      },
    }));
  }

  /** A study's AI state may have changed (job claimed, failed, re-queued, created): remember it and tell live views. */
  async changed(studyUID: string): Promise<void> {
    const row = await this.deps.db.selectFrom('preread_studies').selectAll().where('study_uid', '=', studyUID).executeTakeFirst();
    if (!row) return;
    const jobs = (await this.jobsByStudy([studyUID])).get(studyUID) ?? [];
    this.lastState.set(studyUID, `${this.aiStateOf(row, jobs, Date.now())}|${row.priority}|${row.reason}`);
    await this.deps.changed(studyUID);
  }

  /** Renews the leases of the jobs this process runs; puts back jobs whose lease ran out (their process died). */
  private async leases(): Promise<void> {
    const { db } = this.deps;
    const now = new Date();
    const ids = [...this.inFlight.keys()];
    if (ids.length) {
      await db
        .updateTable('preread_jobs')
        .set({ lease_until: new Date(now.getTime() + this.leaseMs).toISOString() })
        .where('id', 'in', ids)
        .where('claimed_by', '=', this.instance)
        .where('state', '=', 'running')
        .execute();
    }
    const reads = [...this.readsInFlight.keys()];
    if (reads.length) {
      await db
        .updateTable('preread_slices')
        .set({ lease_until: new Date(now.getTime() + this.leaseMs).toISOString() })
        .where('id', 'in', reads)
        .where('claimed_by', '=', this.instance)
        .where('state', '=', 'running')
        .execute();
    }
    await db.updateTable('preread_slices').set({ state: 'pending', claimed_by: null, lease_until: null }).where('state', '=', 'running').where('lease_until', '<', now.toISOString()).execute();
    const expired = await db
      .updateTable('preread_jobs')
      .set({ state: 'pending', next_at: now.toISOString(), claimed_by: null, lease_until: null })
      .where('state', '=', 'running')
      .where('lease_until', '<', now.toISOString())
      .executeTakeFirst();
    if (Number(expired.numUpdatedRows)) {
      this.opts.log(`preread: re-queued ${expired.numUpdatedRows} job(s) whose runner went away`);
      this.tick();
    }
  }

  /** Time passes too: a study whose wait runs over the limit (or whose workers went away) turns "unavailable". */
  private async sweep(): Promise<void> {
    if (this.stopped) return;
    const { db } = this.deps;
    try {
      await this.leases();
      // Only studies whose state can change with time: open jobs now, or open when last told.
      const open = new Set((await db.selectFrom('preread_jobs').select('study_uid').where('state', 'in', ['pending', 'running']).distinct().execute()).map((r) => r.study_uid));
      for (const [uid, key] of this.lastState) if (/^(pending|running|unavailable)\|/.test(key)) open.add(uid);
      if (!open.size) return;
      const uids = [...open];
      const rows = await db.selectFrom('preread_studies').selectAll().where('study_uid', 'in', uids).execute();
      const jobs = await this.jobsByStudy(uids);
      const now = Date.now();
      for (const r of rows) {
        const key = `${this.aiStateOf(r, jobs.get(r.study_uid) ?? [], now)}|${r.priority}|${r.reason}`;
        const prev = this.lastState.get(r.study_uid);
        if (prev !== undefined && prev !== key) await this.deps.changed(r.study_uid);
        this.lastState.set(r.study_uid, key);
      }
    } catch (e) {
      this.opts.log(`preread: sweep: ${(e as Error).message}`);
    }
  }
}
