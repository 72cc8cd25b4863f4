/**
 * Liveness and readiness, for a load balancer or an orchestrator (public: they carry no data).
 *  - GET /healthz: the process is up and serving (no dependency is touched).
 *  - GET /readyz: the database answers a query and Orthanc answers /system, each within 2 s;
 *    503 naming the dependency that does not (never its address or credentials).
 */
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { orthancFetch } from '../orthanc/client.js';

const TIMEOUT_MS = 2000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)))]).finally(() => clearTimeout(t));
}

type Check = { ok: boolean; error?: string; ms: number };

export async function checkReady(ctx: GatewayContext): Promise<{ ready: boolean; checks: Record<string, Check> }> {
  const run = async (name: string, fn: () => Promise<void>): Promise<readonly [string, Check]> => {
    const t0 = Date.now();
    try {
      await within(fn(), name);
      return [name, { ok: true, ms: Date.now() - t0 }] as const;
    } catch (e) {
      return [name, { ok: false, error: (e as Error).message.slice(0, 200), ms: Date.now() - t0 }] as const;
    }
  };
  const checks: Record<string, Check> = Object.fromEntries(
    await Promise.all([
      run('database', async () => {
        await sql`SELECT 1`.execute(ctx.db);
      }),
      run('orthanc', async () => {
        const r = await orthancFetch(ctx.orthanc, '/system', { timeoutMs: TIMEOUT_MS });
        if (!r.ok) throw new Error(`orthanc: HTTP ${r.status}`);
        await r.body?.cancel();
      }),
    ]),
  );
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}

export function registerHealthRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get('/healthz', { config: { public: true } }, async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return { ok: true };
  });
  app.get('/readyz', { config: { public: true } }, async (_req, reply) => {
    const r = await checkReady(ctx);
    return reply.code(r.ready ? 200 : 503).header('cache-control', 'no-store').send(r);
  });
}
