/** Route and background-service registration for this capability: policy, rollout, AI disable (issue 7). */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { registerTrustRoutes } from './routes.js';
import { registerSrGuard } from './sr-guard.js';
import { appendAudit } from '../audit/audit.js';

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { store, config } = ctx;
  // THE model registry (ctx.models) and THE study facts (ctx.facts) come with the context: the same the pre-read routes with.
  await registerTrustRoutes(app, ctx);
  registerSrGuard(app, ctx);
  app.addHook('onReady', async () => {
    await appendAudit(store.db, { actor: 'system', action: 'application-start', detail: { demo: config.demo } });
  });
  app.addHook('onClose', async () => {
    await appendAudit(store.db, { actor: 'system', action: 'application-stop' }).catch(() => {});
  });
}
