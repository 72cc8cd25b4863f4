/**
 * External AI jobs: a study queued for a remote model, as an outbox row of kind `external-ai` (the
 * outbox worker delivers it with deliver.ts). Used by the request route and by the arrival follower.
 */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/database.js';
import type { GatewayContext } from '../context.js';
import { withAudit, type AuditEvent } from '../audit/audit.js';
import '../outbox/schema.js';
import { isAiAllowed } from '../trust/service.js';
import { studyEligibility } from '../../src/core/ai/eligibility.js';
import type { ExternalAiPayload } from './deliver.js';

/** jobId null: a job with that dedupe key exists already (another gateway queued it). */
export type EnqueueResult = { ok: true; jobId: number | null } | { ok: false; status: 404 | 409 | 422; error: string };

/**
 * Queues a study for a remote model, after the same checks a local model gets: the model is remote,
 * the study's facts fall in its indication and domain (THE eligibility rule), and no AI control holds
 * it back (study or modality disabled, rollout off). The pre-read's arrival can call this for remote models.
 */
export async function enqueueExternalAi(
  ctx: GatewayContext,
  studyUID: string,
  modelName: string,
  requestedBy: { username: string; role?: string | null },
  opts: { dedupeKey?: string; trigger?: 'arrival' } = {},
): Promise<EnqueueResult> {
  const reg = ctx.models.get(modelName);
  if (!reg || reg.manifest.runtime?.kind !== 'remote') return { ok: false, status: 404, error: `no remote model ${modelName}` };
  const facts = await ctx.facts(studyUID);
  if (!facts) return { ok: false, status: 404, error: 'unknown study' };
  const elig = studyEligibility(reg.manifest, facts);
  if (!elig.ok) return { ok: false, status: 422, error: elig.reason };
  const allowed = await isAiAllowed(ctx.db, { studyUID, modality: facts.modality, modelName });
  if (!allowed.ok) return { ok: false, status: 409, error: allowed.reason };
  // The job and its audit record (`external-ai-requested`): one transaction. A job already queued under the
  // same dedupe key is neither queued nor recorded again.
  const jobId = await withAudit(ctx.db, async (trx) => {
    const id = await insertJob(trx, { type: 'external-ai', model: modelName, studyUID, secret: crypto.randomBytes(32).toString('hex'), requestedBy: requestedBy.username }, opts.dedupeKey);
    const audit: AuditEvent | null =
      id === null ? null : { actor: requestedBy.username, role: requestedBy.role ?? null, action: 'external-ai-requested', studyUID, detail: { model: modelName, job: id, ...(opts.trigger ? { trigger: opts.trigger } : {}) } };
    return { value: id, audit };
  });
  return { ok: true, jobId };
}

async function insertJob(db: Kysely<DB>, p: ExternalAiPayload, dedupeKey?: string): Promise<number | null> {
  const now = new Date().toISOString();
  const id = crypto.randomUUID();
  const row = await db
    .insertInto('outbox')
    .values({ kind: 'external-ai', study_uid: p.studyUID, dedupe_key: dedupeKey ?? `external-ai:${id}`, message_id: id, payload: JSON.stringify(p), status: 'pending', attempts: 0, next_attempt_at: now, last_error: null, created_at: now, updated_at: now, sent_at: null, acknowledged_at: null })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row ? Number(row.id) : null;
}

