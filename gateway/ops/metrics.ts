/**
 * Prometheus metrics (prom-client), one registry per gateway (two gateways in one process share nothing):
 *  - http_request_duration_seconds{method,route,status_code}: route is Fastify's route pattern
 *    (/api/studies/:study/findings), never the raw URL (no UIDs, no query strings, bounded cardinality);
 *  - outbox_queue_depth{kind,status} and preread_queue_depth{state}: read from the database at scrape
 *    time, so every gateway reports the shared queue;
 *  - outbox_delivery_seconds{kind}: enqueue to acknowledgement, observed by the worker of this gateway;
 *  - preread_job_seconds: a pre-read job's arrival (the job row created when its study came in from the
 *    change feed) to its result recorded, read from the shared jobs table at scrape time (jobs finished
 *    since this gateway started, whichever gateway ran them: like the queue depths, the cluster's figure);
 *  - preread_inference_seconds{model,version}: model run time per inference request (pixels already
 *    fetched), observed by this process's inference pool (observeInference);
 *  - process and Node.js defaults (memory, event-loop lag, GC).
 * Served at GET /metrics with the permission `metrics.read` (admin, through a session), and, for a
 * Prometheus scraper that cannot log in, on a separate listener bound to loopback (METRICS_PORT).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import client from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { OutboxWorker } from '../outbox/worker.js';
import '../outbox/schema.js';
import '../preread/migrations.js';

export interface GatewayMetrics {
  registry: client.Registry;
  httpDuration: client.Histogram<'method' | 'route' | 'status_code'>;
  outboxDelivery: client.Histogram<'kind'>;
  /** Seconds per pre-read inference request, per model and version (process-wide: see observeInference). */
  inferenceSeconds: client.Histogram<'model' | 'version'>;
  /** Seconds from a pre-read job's arrival to its result (see observePrereadJob). */
  prereadJob: client.Histogram;
}

/**
 * Inference time lives in the process, not in a gateway: the inference pool (gateway/preread/pool.ts)
 * calls observeInference without knowing which gateway's registry it serves, so this one histogram is
 * registered in every registry of the process (in production, one gateway per process).
 */
const inferenceSeconds = new client.Histogram({
  name: 'preread_inference_seconds',
  help: 'Pre-read model run time per inference request (pixels already fetched), per model and version, in this process',
  labelNames: ['model', 'version'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
  registers: [],
});

/** Records one inference by `model` at `version` that took `seconds`. */
export function observeInference(model: string, version: string, seconds: number): void {
  if (Number.isFinite(seconds) && seconds >= 0) inferenceSeconds.observe({ model, version }, seconds);
}

const manifests = new Map<string, { model: string; version: string }>();
/** The model folder's name and version (its manifest.json, read once per folder); 'unknown' when unreadable. */
function modelOfDir(manifestDir: string): { model: string; version: string } {
  let m = manifests.get(manifestDir);
  if (!m) {
    try {
      const j = JSON.parse(fs.readFileSync(path.join(manifestDir, 'manifest.json'), 'utf8')) as { name?: unknown; version?: unknown };
      m = { model: typeof j.name === 'string' ? j.name : path.basename(manifestDir), version: typeof j.version === 'string' ? j.version : 'unknown' };
    } catch {
      m = { model: path.basename(manifestDir), version: 'unknown' };
    }
    manifests.set(manifestDir, m);
  }
  return m;
}

/** observeInference for the model in `manifestDir` (what the inference pool knows of a request). */
export function observeInferenceOf(manifestDir: string, inferenceMs: number): void {
  const { model, version } = modelOfDir(manifestDir);
  observeInference(model, version, inferenceMs / 1000);
}

/** Records one pre-read job's arrival-to-result time on `m`. */
export function observePrereadJob(m: Pick<GatewayMetrics, 'prereadJob'>, seconds: number): void {
  if (Number.isFinite(seconds) && seconds >= 0) m.prereadJob.observe(seconds);
}

export function createMetrics(db: Kysely<DB>): GatewayMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const httpDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route pattern (never the raw URL)',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const outboxDelivery = new client.Histogram({
    name: 'outbox_delivery_seconds',
    help: 'Outbox message latency from enqueue to acknowledgement, by kind (delivered by this gateway)',
    labelNames: ['kind'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  registry.registerMetric(inferenceSeconds);
  // Jobs finished after this watermark are observed at the next scrape (their own timestamps, so the
  // figure does not depend on when the scrape comes); the watermark then moves to the newest seen.
  let jobsSince = new Date().toISOString();
  const prereadJob: client.Histogram = new client.Histogram({
    name: 'preread_job_seconds',
    help: 'Pre-read job latency, arrival (job created from the change feed) to result recorded; the shared queue, jobs finished since this gateway started',
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [registry],
    async collect() {
      const rows = await db
        .selectFrom('preread_jobs')
        .select(['created_at', 'finished_at'])
        .where('state', '=', 'done')
        .where('finished_at', '>', jobsSince)
        .orderBy('finished_at')
        .limit(10_000)
        .execute();
      for (const r of rows) {
        observePrereadJob({ prereadJob }, (Date.parse(r.finished_at!) - Date.parse(r.created_at)) / 1000);
        jobsSince = r.finished_at!;
      }
    },
  });
  new client.Gauge({
    name: 'outbox_queue_depth',
    help: 'Outbox messages not yet acknowledged, by kind and status (the shared queue, read at scrape time)',
    labelNames: ['kind', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db
        .selectFrom('outbox')
        .select(['kind', 'status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', 'in', ['pending', 'sent', 'failed', 'dead'])
        .groupBy(['kind', 'status'])
        .execute();
      for (const r of rows) this.set({ kind: r.kind, status: r.status }, Number(r.n));
    },
  });
  new client.Gauge({
    name: 'preread_queue_depth',
    help: 'Pre-read jobs by state (the shared queue, read at scrape time)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const state of ['pending', 'running', 'failed']) this.set({ state }, 0);
      const rows = await db
        .selectFrom('preread_jobs')
        .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
        .where('state', 'in', ['pending', 'running', 'failed'])
        .groupBy('state')
        .execute();
      for (const r of rows) this.set({ state: r.state }, Number(r.n));
    },
  });
  return { registry, httpDuration, outboxDelivery, inferenceSeconds, prereadJob };
}

/** Times every request by its route pattern. Call right after creating the app, before any route. */
export function instrumentRequests(app: FastifyInstance, m: GatewayMetrics): void {
  app.addHook('onResponse', async (req, reply) => {
    // No route matched (404, static files through the not-found handler): one label, not the URL.
    const route = req.routeOptions.url ?? 'unmatched';
    m.httpDuration.observe({ method: req.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}

export function observeOutbox(worker: OutboxWorker, m: GatewayMetrics): void {
  worker.onDelivered = (kind, ms) => m.outboxDelivery.observe({ kind }, ms / 1000);
}

/** GET /metrics on the gateway (permission metrics.read). */
export function registerMetricsRoute(app: FastifyInstance, m: GatewayMetrics): void {
  app.get('/metrics', { config: { permission: 'metrics.read' } }, async (_req, reply) => {
    reply.header('content-type', m.registry.contentType).header('cache-control', 'no-store');
    return m.registry.metrics();
  });
}

/**
 * The scrape listener: GET /metrics only, no authentication, so it binds to loopback unless told
 * otherwise (METRICS_HOST). Returns the port it listens on.
 */
export async function startMetricsListener(m: GatewayMetrics, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    m.registry
      .metrics()
      .then((body) => res.writeHead(200, { 'content-type': m.registry.contentType, 'cache-control': 'no-store' }).end(body))
      .catch((e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics: ${e.message}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  return {
    port: typeof a === 'object' && a ? a.port : port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
