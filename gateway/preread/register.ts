/** Route and background-service registration for this capability: pre-read jobs, change feed, triage (issue 8). */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { PrereadService, prereadOptionsFromEnv } from './service.js';
import { registerPrereadRoutes } from './routes.js';

/** Registers the pre-read and returns its service (the Gateway object carries it for tests and the bench). */
export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<PrereadService> {
  const log = (msg: string) => (app.log.level && app.log.level !== 'silent' ? app.log.info(msg) : console.error(msg));
  const svc = new PrereadService(ctx, prereadOptionsFromEnv(process.env, log));
  const { triage } = svc;
  // Triage listens to the domain events from the start (also with PREREAD=0): a rejection, sign-off,
  // AI disable or rollout change updates flags, alerts and the live views at once.
  const unsubscribe = svc.subscribe();
  // Once at start, in the background: every flagged or alerted study against its current findings and policy.
  app.addHook('onReady', async () => {
    void triage.recomputeAll('start', 'system').catch((e: Error) => log(`triage: reconcile at start: ${e.message}`));
  });
  app.addHook('preClose', async () => {
    unsubscribe();
    await triage.settled();
  });
  await registerPrereadRoutes(app, ctx, svc, triage);
  // PREREAD=0 turns the background service off (routes still answer from the table).
  if (process.env.PREREAD !== '0') {
    app.addHook('onReady', async () => svc.start());
    app.addHook('preClose', async () => svc.stop());
  }
  return svc;
}
