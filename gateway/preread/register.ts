/** Route and background-service registration for this capability: pre-read jobs and change-feed cursor (issue 8). */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { orthancAccess } from './pacs.js';
import { PrereadService, prereadOptionsFromEnv } from './service.js';
import { registerPrereadRoutes } from './routes.js';
import { TriageService } from './triage.js';
import type { AiState } from '../../src/core/triage/arrival.js';

const services = new WeakMap<FastifyInstance, PrereadService>();

/** The running pre-read service of a gateway (tests, bench: stop/start workers, read state). */
export function prereadService(app: FastifyInstance): PrereadService | undefined {
  return services.get(app);
}

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { store, config } = ctx;
  const log = (msg: string) => (app.log.level && app.log.level !== 'silent' ? app.log.info(msg) : console.error(msg));
  const opts = { ...prereadOptionsFromEnv(process.env, { orthanc: orthancAccess(config), catalog: ctx.models, log }), events: ctx.events };
  // Triage listens to the domain events from the start (also with PREREAD=0): a rejection, sign-off,
  // AI disable or rollout change updates flags, alerts and the live views at once.
  const triage: TriageService = new TriageService(ctx, {
    rules: opts.rules,
    thresholds: () => opts.catalog.thresholds(),
    alertWebhookUrl: opts.alertWebhookUrl,
    publicUrl: opts.publicUrl,
    log,
    aiState: (row, jobs, now): AiState => svc.aiStateOf(row, jobs, now),
  });
  const svc: PrereadService = new PrereadService(store, opts, triage);
  services.set(app, svc);
  const unsubscribe = triage.subscribe();
  // Once at start, in the background: every flagged or alerted study against its current findings and policy.
  app.addHook('onReady', async () => {
    void triage.recomputeAll('start', 'system').catch((e: Error) => log(`triage: reconcile at start: ${e.message}`));
  });
  app.addHook('preClose', async () => {
    unsubscribe();
    await triage.settled();
  });
  await registerPrereadRoutes(app, ctx.db, svc, triage);
  // PREREAD=0 turns the background service off (routes still answer from the table).
  if (process.env.PREREAD !== '0') {
    app.addHook('onReady', async () => svc.start());
    app.addHook('preClose', async () => svc.stop());
  }
}
