/**
 * Prometheus metrics (prom-client), one registry per gateway (two gateways in one process share nothing):
 *  - http_request_duration_seconds{method,route,status_code}: route is Fastify's route pattern
 *    (/api/studies/:study/findings), never the raw URL (no UIDs, no query strings, bounded cardinality);
 *  - outbox_queue_depth{kind,status} and preread_queue_depth{state}: read from the database at scrape
 *    time, so every gateway reports the shared queue;
 *  - outbox_delivery_seconds{kind}: enqueue to acknowledgement, observed by the worker of this gateway;
 *  - process and Node.js defaults (memory, event-loop lag, GC).
 * Served at GET /metrics with the permission `metrics.read` (admin, through a session), and, for a
 * Prometheus scraper that cannot log in, on a separate listener bound to loopback (METRICS_PORT).
 */
import http from 'node:http';
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
  /** Seconds per pre-read inference, per model (for the pre-read queue to observe). */
  inferenceSeconds: client.Histogram<'model'>;
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
  const inferenceSeconds = new client.Histogram({
    name: 'preread_inference_seconds',
    help: 'Pre-read inference time per model (run by this gateway)',
    labelNames: ['model'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
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
  return { registry, httpDuration, outboxDelivery, inferenceSeconds };
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
