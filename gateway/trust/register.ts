/** Route and background-service registration for this capability: policy, rollout, AI disable (issue 7). */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { setTrustContext } from './service.js';
import { orthancStudyFactsResolver } from './study-facts.js';
import { registerTrustRoutes } from './routes.js';
import { registerSrGuard } from './sr-guard.js';
import { appendAudit } from '../audit/audit.js';

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { store, config } = ctx;
  // THE model registry (ctx.models) and THE study facts (study-facts.ts): the same the pre-read routes with.
  setTrustContext(store.db, { facts: orthancStudyFactsResolver(config, store.db), manifests: () => ctx.models.manifests() });
  await registerTrustRoutes(app, store, config, ctx.events);
  registerSrGuard(app, store.db, config);
  app.addHook('onReady', async () => {
    await appendAudit(store.db, { actor: 'system', action: 'application-start', detail: { demo: config.demo } });
  });
  app.addHook('onClose', async () => {
    await appendAudit(store.db, { actor: 'system', action: 'application-stop' }).catch(() => {});
  });
}
