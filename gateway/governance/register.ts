/**
 * The governance capability (issue 17): per-model figures that add up, computed by the pure
 * src/core/governance/figures.ts from the history gateway/governance/records.ts reads, and the
 * gateway's own health records (health.ts) behind the uptime figures.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { registerGovernanceRoutes } from './routes.js';
import type { GovernanceDeps } from './records.js';
import { runRulesCheck } from './alerts.js';
import { DEFAULT_HEALTH_INTERVAL_MS, startHealthRecorder, type HealthRecorder } from './health.js';

/** GOVERNANCE_HEALTH_MS: interval of the health records (default 60 s; at least 1 s). */
export function healthIntervalFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.GOVERNANCE_HEALTH_MS);
  return Number.isFinite(n) && n >= 1000 ? Math.floor(n) : DEFAULT_HEALTH_INTERVAL_MS;
}

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  // THE study facts come with the context (ctx.facts); unknown facts: the modality from the pre-read's own record.
  const facts = (ctx as GatewayContext & { facts?: GovernanceDeps['facts'] }).facts ?? (async () => null);
  const deps = { db: ctx.db, facts, models: ctx.models };
  registerGovernanceRoutes(app, deps, ctx.orthanc, ctx.config);
  let recorder: HealthRecorder | null = null;
  // The first record when the gateway is ready, then one per interval until it closes.
  app.addHook('onReady', async () => {
    // After each health record the alert rules are checked (a model leaving a range notifies admin and governance).
    recorder = startHealthRecorder(ctx.db, ctx.orthanc, ctx.models, healthIntervalFromEnv(), (m) => console.error(m), async () => {
      await runRulesCheck({ ...deps, orthanc: ctx.orthanc });
    });
    await recorder.beat();
  });
  app.addHook('preClose', async () => {
    recorder?.stop();
    await recorder?.idle();
  });
}
