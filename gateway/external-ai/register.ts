/**
 * The external AI capability (issue 17 item 7): a model of the registry whose manifest says
 * `runtime: { kind: 'remote', url }` is run by sending the study de-identified to its endpoint
 * (deliver.ts). Jobs are outbox rows of kind `external-ai`: the outbox worker claims, retries and
 * leases them like every other delivery; this capability only hands it the delivery function.
 */
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { GatewayContext } from '../context.js';
import type { OutboxWorker } from '../outbox/worker.js';
import '../outbox/schema.js';
import { requireUser } from '../auth/plugin.js';
import { appendAudit } from '../audit/audit.js';
import { isAiAllowed } from '../trust/service.js';
import { studyEligibility } from '../../src/core/ai/eligibility.js';
import { deliverExternalAi, type ExternalAiPayload } from './deliver.js';

export type EnqueueResult = { ok: true; jobId: number } | { ok: false; status: 404 | 409 | 422; error: string };

/**
 * Queues a study for a remote model, after the same checks a local model gets: the model is remote,
 * the study's facts fall in its indication and domain (THE eligibility rule), and no AI control holds
 * it back (study or modality disabled, rollout off). The pre-read's arrival can call this for remote models.
 */
export async function enqueueExternalAi(ctx: GatewayContext, studyUID: string, modelName: string, requestedBy: string): Promise<EnqueueResult> {
  const reg = ctx.models.get(modelName);
  if (!reg || reg.manifest.runtime?.kind !== 'remote') return { ok: false, status: 404, error: `no remote model ${modelName}` };
  const facts = await ctx.facts(studyUID);
  if (!facts) return { ok: false, status: 404, error: 'unknown study' };
  const elig = studyEligibility(reg.manifest, facts);
  if (!elig.ok) return { ok: false, status: 422, error: elig.reason };
  const allowed = await isAiAllowed(ctx.db, { studyUID, modality: facts.modality, modelName });
  if (!allowed.ok) return { ok: false, status: 409, error: allowed.reason };
  const jobId = await insertJob(ctx.db, { type: 'external-ai', model: modelName, studyUID, secret: crypto.randomBytes(32).toString('hex'), requestedBy });
  return { ok: true, jobId };
}

async function insertJob(db: Kysely<DB>, p: ExternalAiPayload): Promise<number> {
  const now = new Date().toISOString();
  const id = crypto.randomUUID();
  const row = await db
    .insertInto('outbox')
    .values({ kind: 'external-ai', study_uid: p.studyUID, dedupe_key: `external-ai:${id}`, message_id: id, payload: JSON.stringify(p), status: 'pending', attempts: 0, next_attempt_at: now, last_error: null, created_at: now, updated_at: now, sent_at: null, acknowledged_at: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function register(app: FastifyInstance, ctx: GatewayContext, outbox: OutboxWorker): Promise<void> {
  outbox.handlers.set('external-ai', (payload) => deliverExternalAi(ctx, payload as ExternalAiPayload));

  app.post<{ Params: { study: string; model: string } }>('/api/studies/:study/external-ai/:model', { config: { permission: 'external-ai.send' } }, async (req, reply) => {
    const s = requireUser(req);
    const study = z.string().regex(/^[0-9]+(\.[0-9]+)*$/).max(64).safeParse(req.params.study);
    if (!study.success) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const r = await enqueueExternalAi(ctx, study.data, req.params.model, s.user.username);
    if (!r.ok) return reply.code(r.status).send({ error: r.error });
    await appendAudit(ctx.db, { actor: s.user.username, role: s.user.role, action: 'external-ai-requested', studyUID: study.data, detail: { model: req.params.model, job: r.jobId } });
    outbox.kick();
    return reply.code(202).send({ job: r.jobId });
  });

  app.get<{ Params: { study: string } }>('/api/studies/:study/external-ai', { config: { permission: 'study.ai-status' } }, async (req) => {
    const rows = await ctx.db.selectFrom('outbox').select(['id', 'payload', 'status', 'attempts', 'next_attempt_at', 'created_at', 'acknowledged_at']).where('kind', '=', 'external-ai').where('study_uid', '=', req.params.study).orderBy('id').execute();
    // The job's secret never leaves the gateway: only its model and state are shown.
    return { jobs: rows.map((r) => ({ id: r.id, model: (JSON.parse(r.payload) as ExternalAiPayload).model, status: r.status, attempts: r.attempts, nextAttemptAt: r.next_attempt_at, createdAt: r.created_at, doneAt: r.acknowledged_at })) };
  });
}
