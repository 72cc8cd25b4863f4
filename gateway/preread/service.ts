/**
 * Zero-click pre-read, composed of four parts with one job each:
 *  - feed.ts:    follows Orthanc's change feed from a persisted cursor;
 *  - arrival.ts: turns each arriving instance into reads (its series judged on its first header), a
 *                stable study into jobs (routing under the AI controls), and re-admits a study when a
 *                control that held it back is lifted;
 *  - queue.ts:   the durable reads and jobs and the inference worker pool (claim, read, finalise from
 *                the stored reads, fail, back-off);
 *  - ingest.ts:  a finished job's output becomes findings through the one ingestion path;
 *  - triage.ts:  priority, alerts and the live views, recomputed from the domain events.
 *
 * Exactly-once rules: the cursor advances in the transaction that records the study and its jobs; a
 * job's findings, its "done" state, the triage result and the outbox events commit together. A crash
 * between the two leaves a "running" job, which start() puts back to pending; finding ids are
 * deterministic, so a re-run upserts the same rows.
 */
import type { GatewayContext } from '../context.js';
import { DEFAULT_TRIAGE_RULES, type TriageRules } from '../../src/core/triage/triage.js';
import type { AiState } from '../../src/core/triage/arrival.js';
import { onSeriesChange } from '../findings/sr-arrivals.js';
import { ChangeFeed, setCursor } from './feed.js';
import { tryLeadership, type Leadership } from '../db/dialect.js';
import { LEASE_MS, PrereadQueue, type JobView } from './queue.js';
import os from 'node:os';
import { admitInstances, admitStudy, readmitHeldBack, type AdmitDeps } from './arrival.js';
import { ingestEarlyFlag, ingestJobResult, withdrawEarlyFlags } from './ingest.js';
import { TriageService, type TriageView } from './triage.js';
import type { ModelCatalog, RoutingDecision } from './models.js';

export interface PrereadOptions {
  /** How often the change feed is polled. */
  pollMs: number;
  /** A study not read within this long shows "AI unavailable" (it stays readable). */
  timeoutMs: number;
  workers: number;
  maxAttempts: number;
  backoffBaseMs: number;
  /** A job claim's lease (renewed every second while it runs); another gateway takes over after it. */
  leaseMs?: number;
  /** Critical alerts are also posted here, through the durable outbox. */
  alertWebhookUrl: string | null;
  /** Public base URL of the reading station, for links in webhook posts. */
  publicUrl: string | null;
  rules: TriageRules;
  log: (msg: string) => void;
}

/** The lease is renewed every second: one shorter than a few renewals would be lost to one slow renewal. */
function leaseOf(ms: number): number {
  if (ms < 3_000) throw new Error(`PREREAD_LEASE_MS must be at least 3000 (the lease is renewed every second), got "${ms}"`);
  return ms;
}

export function prereadOptionsFromEnv(env: NodeJS.ProcessEnv, log: (msg: string) => void): PrereadOptions {
  const num = (k: string, d: number) => {
    const v = env[k];
    if (v === undefined || v === '') return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${k} must be a non-negative number, got "${v}"`);
    return n;
  };
  return {
    log,
    pollMs: num('PREREAD_POLL_MS', 500),
    timeoutMs: num('PREREAD_TIMEOUT_MS', 60_000),
    // Inference scales with the cores: one worker thread each (a worker reads one instance at a time).
    workers: num('PREREAD_WORKERS', os.availableParallelism()),
    maxAttempts: Math.max(1, num('PREREAD_MAX_ATTEMPTS', 3)),
    backoffBaseMs: num('PREREAD_BACKOFF_MS', 2_000),
    leaseMs: leaseOf(num('PREREAD_LEASE_MS', LEASE_MS)),
    alertWebhookUrl: env.ALERT_WEBHOOK_URL || null,
    publicUrl: env.PUBLIC_URL || null,
    rules: DEFAULT_TRIAGE_RULES,
  };
}

export type { TriageEntry, TriageView, AlertEntry } from './triage.js';
export type { JobView } from './queue.js';

/** GET /api/studies/:s/preread: the queue's routing and jobs, and the triage as the asking role may see it. */
export interface StudyPreread extends TriageView {
  fingerprint: string;
  instanceCount: number;
  flaggedAt: string | null;
  routing: RoutingDecision[];
  jobs: JobView[];
}

export class PrereadService {
  readonly triage: TriageService;
  readonly queue: PrereadQueue;
  readonly feed: ChangeFeed;
  /** THE model registry as the pre-read sees it (installed models and their thresholds). */
  readonly catalog: ModelCatalog;
  private readonly admit: AdmitDeps;
  private unsubscribe: (() => void)[] = [];
  /** Re-admission only while the background service runs (PREREAD=0 leaves the queue alone). */
  private running = false;
  /** Only one process follows the change feed (PostgreSQL: a session advisory lock; SQLite: always this one). */
  private leadership: Leadership | null = null;

  constructor(
    private readonly ctx: GatewayContext,
    readonly opts: PrereadOptions,
  ) {
    const { db, orthanc, events } = ctx;
    this.catalog = ctx.models;
    this.triage = new TriageService(ctx, {
      rules: opts.rules,
      thresholds: () => this.catalog.thresholds(),
      alertWebhookUrl: opts.alertWebhookUrl,
      publicUrl: opts.publicUrl,
      log: opts.log,
      aiState: (row, jobs, now): AiState => this.queue.aiStateOf(row, jobs, now),
    });
    const manufacturerOf = (model: string) => this.catalog.list().find((m) => m.manifest.name === model)?.manifest.manufacturer;
    this.queue = new PrereadQueue(
      {
        db,
        orthanc,
        models: () => this.catalog.list(),
        ingest: (job, findings, meta, markDone) => ingestJobResult({ db, events, triage: this.triage, manufacturerOf }, job, findings, meta, markDone),
        sliceRead: async (read) => void (await ingestEarlyFlag({ db, events, triage: this.triage, manufacturerOf }, read)),
        changed: (uid) => this.triage.notify(uid),
      },
      opts,
    );
    this.admit = {
      db,
      orthanc,
      models: () => this.catalog.list(),
      changed: (uid) => this.queue.changed(uid),
      tick: () => this.queue.tick(),
      withdrawEarly: (uid, skipped) => withdrawEarlyFlags({ db, events, triage: this.triage, manufacturerOf }, uid, skipped),
    };
    this.feed = new ChangeFeed(
      { db, orthanc, pollMs: opts.pollMs, log: opts.log, leadership: async () => (this.leadership ? this.leadership.check() : false) },
      {
        // AI SRs are read by the server when their series is stable (findings/sr-arrivals.ts).
        onChange: (c) => onSeriesChange({ db, orthanc, events, log: opts.log }, c),
        onStableStudy: async (orthancId, seq) => void (await admitStudy(this.admit, orthancId, { inTx: (trx) => setCursor(trx, seq) })),
        // Reading starts on the first instances, not at stability.
        onNewInstances: async (ids) => void (await admitInstances(this.admit, ids, opts.log).catch((e: Error) => opts.log(`preread: arriving instances: ${e.message}`))),
      },
    );
  }

  /**
   * Listens to the domain events: triage recomputes on every one; lifting an AI control (study
   * re-enabled, modality switched back on, rollout no longer off) admits the studies it held back.
   */
  subscribe(): () => void {
    const { events } = this.ctx;
    const offTriage = this.triage.subscribe();
    const readmit = (uids?: string[]) => {
      if (!this.running) return;
      void readmitHeldBack(this.admit, uids, this.opts.log).catch((e: Error) => this.opts.log(`preread: re-admit: ${e.message}`));
    };
    this.unsubscribe = [
      offTriage,
      events.on('study-ai-changed', (e) => (e.disabled ? undefined : readmit([e.studyUID]))),
      events.on('policy-changed', (e) => (e.what === 'rollout' || e.what === 'modalities' ? readmit() : undefined)),
    ];
    return () => {
      for (const off of this.unsubscribe) off();
      this.unsubscribe = [];
    };
  }

  async start(): Promise<void> {
    this.running = true;
    this.leadership = await tryLeadership(this.ctx.store, 'preread-feed');
    await this.queue.start();
    this.feed.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.feed.stop();
    await this.queue.stop();
    await this.leadership?.release();
    this.leadership = null;
  }

  get pool() {
    return this.queue.pool;
  }

  /** AI down: stop the inference workers (queued jobs wait; studies show "unavailable"). */
  async stopWorkers(): Promise<void> {
    await this.queue.pool.stop();
  }

  /** AI back: the queue drains. */
  startWorkers(): void {
    this.queue.pool.start();
  }

  /** Reads the change feed until drained (tests, bench). */
  pollFeed(): Promise<void> {
    return this.feed.poll();
  }

  /** Routing and jobs of one study (the queue's part of GET /api/studies/:s/preread; triage adds the role's view). */
  async study(studyUID: string): Promise<(Omit<StudyPreread, keyof TriageView> & { studyUID: string; aiState: AiState; modality: string | null }) | null> {
    const row = await this.ctx.db.selectFrom('preread_studies').selectAll().where('study_uid', '=', studyUID).executeTakeFirst();
    if (!row) return null;
    // One snapshot of the jobs for both the list and the state (the current image set's jobs decide it).
    const all = await this.queue.jobsWithImageSet(studyUID);
    const jobs = all.map((j) => j.view);
    const current = all.filter((j) => j.fingerprint === row.fingerprint).map((j) => ({ state: j.view.state }));
    return {
      studyUID,
      aiState: this.queue.aiStateOf(row, current, Date.now()),
      modality: row.modality,
      fingerprint: row.fingerprint,
      instanceCount: row.instance_count,
      flaggedAt: row.flagged_at,
      routing: JSON.parse(row.routing) as RoutingDecision[],
      jobs,
    };
  }
}

