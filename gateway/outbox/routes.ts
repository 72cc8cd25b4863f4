/** Admin view of the outbox (status, manual retry), inbound rejected messages, and orders for the worklist. */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../db/database.js';
import { withAudit } from '../audit/audit.js';
import { requireUser } from '../auth/plugin.js';
import { OUTBOX_STATUSES, type OutboxStatus } from './schema.js';
import type { OutboxWorker } from './worker.js';

export function registerOutboxRoutes(app: FastifyInstance, store: Store, worker: OutboxWorker | null): void {
  const { db } = store;

  app.get<{ Querystring: { status?: string; kind?: string; study?: string; limit?: string } }>('/api/admin/outbox', { config: { permission: 'outbox.admin' } }, async (req, reply) => {
    const { status, kind, study } = req.query;
    if (status && !OUTBOX_STATUSES.includes(status as OutboxStatus)) return reply.code(400).send({ error: `status must be one of ${OUTBOX_STATUSES.join(', ')}` });
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 200) || 200));
    let q = db.selectFrom('outbox').select(['id', 'kind', 'study_uid', 'message_id', 'status', 'attempts', 'next_attempt_at', 'last_error', 'created_at', 'updated_at', 'sent_at', 'acknowledged_at']);
    if (status) q = q.where('status', '=', status as OutboxStatus);
    if (kind) q = q.where('kind', '=', kind as never);
    if (study) q = q.where('study_uid', '=', study);
    const items = await q.orderBy('id', 'desc').limit(limit).execute();
    const counts = await db.selectFrom('outbox').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
    return { items, counts: Object.fromEntries(counts.map((c) => [c.status, Number(c.n)])) };
  });

  app.post<{ Params: { id: string } }>('/api/admin/outbox/:id/retry', { config: { permission: 'outbox.admin' } }, async (req, reply) => {
    const s = requireUser(req);
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id < 1) return reply.code(400).send({ error: 'id must be a positive integer' });
    const row = await db.selectFrom('outbox').select(['id', 'status', 'study_uid', 'kind']).where('id', '=', id).executeTakeFirst();
    if (!row) return reply.code(404).send({ error: `no outbox message ${id}` });
    if (row.status === 'acknowledged') return reply.code(409).send({ error: `message ${id} was already acknowledged; a retry would send it twice` });
    if (row.status === 'sent') return reply.code(409).send({ error: `message ${id} is being delivered right now` });
    // Already waiting for its next attempt (a replayed retry): nothing to change, nothing recorded again.
    if (row.status === 'pending') return { id, status: 'pending' };
    const now = new Date().toISOString();
    // The retry and its audit record: one transaction. Only from the state read above: a worker that claimed
    // or finished the message meanwhile wins, and the admin is told rather than the message sent twice.
    const moved = await withAudit(db, async (trx) => {
      const r = await trx.updateTable('outbox').set({ status: 'pending', next_attempt_at: now, updated_at: now }).where('id', '=', id).where('status', '=', row.status).executeTakeFirst();
      const ok = Number(r.numUpdatedRows) > 0;
      return { value: ok, audit: ok ? { actor: s.user.username, role: s.user.role, action: 'outbox-retry', studyUID: row.study_uid ?? undefined, detail: { id, kind: row.kind, from: row.status } } : null };
    });
    if (!moved) return reply.code(409).send({ error: `message ${id} changed state meanwhile; reload and retry` });
    worker?.kick();
    return { id, status: 'pending' };
  });

  app.get<{ Querystring: { limit?: string } }>('/api/admin/hl7/rejected', { config: { permission: 'outbox.admin' } }, async (req) => {
    const limit = Math.min(500, Math.max(1, Number(req.query.limit ?? 100) || 100));
    const items = await db.selectFrom('hl7_rejected_messages').selectAll().orderBy('id', 'desc').limit(limit).execute();
    return { items };
  });

  app.get<{ Querystring: { study?: string; accession?: string } }>('/api/orders', { config: { permission: 'worklist.read' } }, async (req, reply) => {
    const { study, accession } = req.query;
    if (!study && !accession) return reply.code(400).send({ error: 'give study=<Study Instance UID> or accession=<accession number>' });
    let q = db.selectFrom('hl7_orders').selectAll();
    if (study) q = q.where('study_uid', '=', study);
    if (accession) q = q.where('accession', '=', accession);
    const rows = await q.orderBy('received_at', 'desc').limit(100).execute();
    return {
      orders: rows.map((r) => ({
        accession: r.accession, studyInstanceUID: r.study_uid, placerOrderNumber: r.placer_order, orderControl: r.order_control,
        clinicalIndication: r.clinical_indication, priority: r.priority, orderingPhysician: r.ordering_physician,
        procedure: r.procedure_code ? { code: r.procedure_code, text: r.procedure_text } : null, receivedAt: r.received_at,
      })),
    };
  });
}
