/** Builds the gateway: one Fastify instance, thin route modules over plain functions. */
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import type { GatewayConfig } from './config.js';
import { openStore, type Store } from './db/database.js';
import { migrate } from './db/migrations.js';
import { registerAuth } from './auth/plugin.js';
import { seedDemoUsers, usersWithDemoPasswords } from './auth/users.js';
import { registerDicomWebProxy } from './dicomweb/proxy.js';
import { registerStatic } from './static.js';
import { registerSecurityHeaders } from './security-headers.js';
import { registerBodyLimits } from './body-limits.js';
import { register as registerFindings } from './findings/register.js';
import { register as registerOutbox } from './outbox/register.js';
import { register as registerAi } from './ai/register.js';
import { register as registerTrust } from './trust/register.js';
import { register as registerPreread } from './preread/register.js';
import { register as registerGovernance } from './governance/register.js';
import { register as registerReport } from './report/register.js';
import { register as registerMeasurements } from './measurements/register.js';
import { register as registerDeid } from './deid/register.js';
import { register as registerExternalAi } from './external-ai/register.js';
import { register as registerObjects } from './objects/register.js';
import { createContext, type GatewayContext } from './context.js';
import { createMetrics, instrumentRequests, observeOutbox, registerMetricsRoute, startMetricsListener, type GatewayMetrics } from './ops/metrics.js';
import { registerHealthRoutes } from './ops/health.js';
import { mirrorLiveEvents } from './ops/live.js';
import type { PrereadService } from './preread/service.js';
import type { OutboxWorker } from './outbox/worker.js';
import { assertRouteDeclared } from './auth/route-access.js';
import { isApiPath } from './auth/path-guard.js';
import type { Permission } from '../src/core/auth/permissions.js';

export interface Gateway {
  app: FastifyInstance;
  store: Store;
  config: GatewayConfig;
  ctx: GatewayContext;
  /** The running services of this gateway (tests, bench): from here, never from a module-global lookup. */
  preread: PrereadService;
  outbox: OutboxWorker;
  /** Prometheus registry and the instruments capabilities observe (gateway/ops/metrics.ts). */
  metrics: GatewayMetrics;
  /** The port of the loopback scrape listener, when METRICS_PORT is set. */
  metricsPort?: number;
  /** Every route registered, for the route-table security tests. */
  routes: { method: string; url: string; public: boolean; permission?: Permission }[];
  close(): Promise<void>;
}

/** A capability: registers its routes (each with `config.permission` or `config.public`) and services. */
export type Capability = (app: FastifyInstance, ctx: GatewayContext) => Promise<void> | void;

export interface GatewayOptions {
  /** Structured JSON logs (pino, through Fastify): true for stdout, or where to write them (tests). */
  logger?: boolean | { stream: NodeJS.WritableStream; level?: string };
  /** Added after the built-in ones (integrations, tests). */
  capabilities?: Capability[];
}

export async function buildGateway(config: GatewayConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const store = await openStore(config.database, { key: config.auditKey, keyFile: config.auditKeyFile });
  await migrate(store);
  if (config.demo) await seedDemoUsers(store.db);
  else {
    const weak = await usersWithDemoPasswords(store.db);
    if (weak.length) throw new Error(`refusing to start: users ${weak.join(', ')} still have demo passwords (set DEMO=1 for the demo)`);
  }

  const app = Fastify({
    logger: opts.logger ? logOptions(opts.logger) : false,
    bodyLimit: 50 * 1024 * 1024,
    // X-Forwarded-For is believed only from the configured reverse proxies (TRUST_PROXY); default off.
    trustProxy: config.trustProxy?.length ? config.trustProxy : false,
  });
  // Prometheus metrics (gateway/ops/metrics.ts): the request timer goes on before any route.
  const metrics = createMetrics(store.db);
  instrumentRequests(app, metrics);
  const routes: Gateway['routes'] = [];
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    const access = assertRouteDeclared(r, config.staticDir);
    for (const m of methods) routes.push({ method: m, url: r.url, public: access.public, permission: access.permission });
  });
  // CSP (frame-ancestors 'none'), COOP/COEP/CORP and the rest via helmet, no-store on PHI: before auth, so every answer has them.
  await registerSecurityHeaders(app, config);
  // No over-long JSON body string reaches a route (or the database): gateway/body-limits.ts.
  registerBodyLimits(app);

  await app.register(fastifyCookie);
  await registerAuth(app, store, config);
  // Each capability registers its routes and background services (outbox worker, change feed...).
  const ctx = createContext(store, config);
  await registerDicomWebProxy(app, ctx);
  await registerFindings(app, ctx);
  const outbox = await registerOutbox(app, ctx);
  await registerAi(app, ctx);
  await registerTrust(app, ctx);
  const preread = await registerPreread(app, ctx);
  await registerGovernance(app, ctx);
  await registerReport(app, ctx);
  await registerMeasurements(app, ctx);
  await registerDeid(app, ctx);
  await registerExternalAi(app, ctx, outbox);
  await registerObjects(app, ctx);
  for (const register of opts.capabilities ?? []) await register(app, ctx);
  app.get('/api/health', { config: { public: true } }, async () => ({ ok: true }));
  // Operations: /healthz, /readyz (public), /metrics (metrics.read) and the loopback scrape listener.
  registerHealthRoutes(app, ctx);
  registerMetricsRoute(app, metrics);
  observeOutbox(outbox, metrics);
  // PostgreSQL: the live feed (SSE) reaches users on every gateway (LISTEN/NOTIFY); SQLite: a no-op.
  const live = await mirrorLiveEvents(store, preread, (m) => app.log.warn(m));
  app.addHook('onClose', () => live.close());
  app.addHook('onClose', async () => ctx.models.close());
  const scrape = config.metricsPort !== undefined ? await startMetricsListener(metrics, config.metricsHost, config.metricsPort) : null;
  if (scrape) app.addHook('onClose', () => scrape.close());
  if (config.staticDir) await registerStatic(app, config.staticDir);
  else app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: isApiPath(req.url) ? 'no such route' : 'not found' }));

  return {
    app,
    store,
    config,
    ctx,
    preread,
    outbox,
    metrics,
    metricsPort: scrape?.port,
    routes,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

/**
 * pino through Fastify: one JSON object per line. No PHI: a request is logged as method, route pattern
 * and path (never the query string, where QIDO puts PatientName=...; never a header or a body); the
 * response as its status code.
 */
function logOptions(l: true | { stream: NodeJS.WritableStream; level?: string }) {
  const level = (l === true ? undefined : l.level) ?? process.env.LOG_LEVEL ?? 'info';
  return {
    level,
    ...(l === true ? {} : { stream: l.stream }),
    redact: ['req.headers', 'res.headers'],
    serializers: {
      req: (req: { method: string; url: string; routeOptions?: { url?: string } }) => ({ method: req.method, route: req.routeOptions?.url, path: req.url.split('?')[0] }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
}
