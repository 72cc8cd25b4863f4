/**
 * The external AI capability (issue 17 item 7): a model of the registry whose manifest says
 * `runtime: { kind: 'remote', url }` is run by sending the study de-identified to its endpoint
 * (deliver.ts). Jobs are outbox rows of kind `external-ai`: the outbox worker claims, retries and
 * leases them like every other delivery; this capability only hands it the delivery function.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { GatewayContext } from '../context.js';
import type { OutboxWorker } from '../outbox/worker.js';
import { requireUser } from '../auth/plugin.js';
import { deliverExternalAi, type ExternalAiPayload } from './deliver.js';
import { startArrivalFollower } from './arrivals.js';
import { enqueueExternalAi } from './jobs.js';

/** EXTERNAL_AI_POLL_MS: how often arrivals are looked at for remote models (default 2 s; 0 switches it off). */
export function arrivalPollMs(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.EXTERNAL_AI_POLL_MS ?? 2000);
  return Number.isFinite(n) && n >= 0 ? n : 2000;
}

export async function register(app: FastifyInstance, ctx: GatewayContext, outbox: OutboxWorker): Promise<void> {
  outbox.handlers.set('external-ai', (payload) => deliverExternalAi(ctx, payload as ExternalAiPayload));
  const poll = arrivalPollMs();
  if (poll > 0) {
    const follower = startArrivalFollower(ctx, outbox, poll, (m) => app.log.warn(m));
    app.addHook('preClose', () => follower.stop());
  }

  app.post<{ Params: { study: string; model: string } }>('/api/studies/:study/external-ai/:model', { config: { permission: 'external-ai.send' } }, async (req, reply) => {
    const s = requireUser(req);
    const study = z.string().regex(/^[0-9]+(\.[0-9]+)*$/).max(64).safeParse(req.params.study);
    if (!study.success) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const r = await enqueueExternalAi(ctx, study.data, req.params.model, s.user);
    if (!r.ok) return reply.code(r.status).send({ error: r.error });
    outbox.kick();
    return reply.code(202).send({ job: r.jobId });
  });

  app.get<{ Params: { study: string } }>('/api/studies/:study/external-ai', { config: { permission: 'study.ai-status' } }, async (req) => {
    const rows = await ctx.db.selectFrom('outbox').select(['id', 'payload', 'status', 'attempts', 'next_attempt_at', 'created_at', 'acknowledged_at']).where('kind', '=', 'external-ai').where('study_uid', '=', req.params.study).orderBy('id').execute();
    // The job's secret never leaves the gateway: only its model and state are shown.
    return { jobs: rows.map((r) => ({ id: r.id, model: (JSON.parse(r.payload) as ExternalAiPayload).model, status: r.status, attempts: r.attempts, nextAttemptAt: r.next_attempt_at, createdAt: r.created_at, doneAt: r.acknowledged_at })) };
  });
}
