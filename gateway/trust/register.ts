/** Route and background-service registration for this capability: policy, rollout, AI disable (issue 7). */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../db/database.js';
import type { GatewayConfig } from '../config.js';
import { setStudyFactsResolver } from './service.js';
import { orthancStudyFactsResolver } from './study-facts.js';
import { registerTrustRoutes } from './routes.js';
import { appendAudit } from '../audit/audit.js';

export async function register(app: FastifyInstance, store: Store, config: GatewayConfig): Promise<void> {
  setStudyFactsResolver(store.db, orthancStudyFactsResolver(config));
  await registerTrustRoutes(app, store, config);
  app.addHook('onReady', async () => {
    await appendAudit(store.db, { actor: 'system', action: 'application-start', detail: { demo: config.demo } });
  });
  app.addHook('onClose', async () => {
    await appendAudit(store.db, { actor: 'system', action: 'application-stop' }).catch(() => {});
  });
}
