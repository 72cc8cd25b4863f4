/** Route and background-service registration for this capability: policy, rollout, AI disable (issue 7). */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { setTrustContext } from './service.js';
import { loadManifests } from './models.js';
import { orthancStudyFactsResolver } from './study-facts.js';
import { registerTrustRoutes } from './routes.js';
import { registerSrGuard } from './sr-guard.js';
import { appendAudit } from '../audit/audit.js';

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { store, config } = ctx;
  // Manifests re-read at most every few seconds: a new model needs no restart, a findings list no disk walk.
  let cached = { at: 0, list: loadManifests(config.modelsDir) };
  const manifests = () => {
    if (Date.now() - cached.at > 5000) cached = { at: Date.now(), list: loadManifests(config.modelsDir) };
    return cached.list;
  };
  setTrustContext(store.db, { facts: orthancStudyFactsResolver(config), manifests });
  await registerTrustRoutes(app, store, config);
  registerSrGuard(app, store.db, config);
  app.addHook('onReady', async () => {
    await appendAudit(store.db, { actor: 'system', action: 'application-start', detail: { demo: config.demo } });
  });
  app.addHook('onClose', async () => {
    await appendAudit(store.db, { actor: 'system', action: 'application-stop' }).catch(() => {});
  });
}
