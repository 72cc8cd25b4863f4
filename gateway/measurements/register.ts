/**
 * Measurements (issue 15): a radiologist's lengths, angles, ROIs and probes, stored with the study.
 * The client sends the tool, image, points and figures; the server stamps who and when, keeps a
 * deleted measurement's row (deleted by/at), audits every change, and refuses any change after the
 * study is signed off (the measurements are then part of the signed record).
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { GatewayContext } from '../context.js';
import type { DB } from '../db/database.js';
import { requireUser } from '../auth/plugin.js';
import { withAudit, type AuditEvent } from '../audit/audit.js';
import { getSignoff } from '../findings/repository.js';
import { MEASUREMENT_ID, parseMeasurementInput, type Measurement, type MeasurementInput } from '../../src/core/measurements/measurement.js';

const UID = /^[0-9]+(\.[0-9]+)*$/;
/** Enough for any reading session; a client that sends more is refused, not truncated. */
const MAX_PER_STUDY = 2000;

export async function measurementsForStudy(db: Kysely<DB>, studyUID: string): Promise<Measurement[]> {
  const rows = await db.selectFrom('measurements').selectAll().where('study_uid', '=', studyUID).where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => ({ ...(JSON.parse(r.body) as MeasurementInput), id: r.id, studyInstanceUID: r.study_uid, createdBy: r.created_by, createdAt: r.created_at, updatedBy: r.updated_by, updatedAt: r.updated_at }));
}

export async function register(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { db } = ctx;
  const badStudy = (study: string) => !UID.test(study) || study.length > 64;

  app.get<{ Params: { study: string } }>('/api/studies/:study/measurements', { config: { permission: 'measurements.read' } }, async (req, reply) => {
    requireUser(req);
    const { study } = req.params;
    if (badStudy(study)) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const signoff = await getSignoff(db, study);
    return { measurements: await measurementsForStudy(db, study), locked: !!signoff, signedAt: signoff?.signed_at ?? null };
  });

  app.put<{ Params: { study: string; id: string } }>('/api/studies/:study/measurements/:id', { config: { permission: 'measurements.write' } }, async (req, reply) => {
    const s = requireUser(req);
    const { study, id } = req.params;
    if (badStudy(study)) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    if (!MEASUREMENT_ID.test(id)) return reply.code(400).send({ error: 'id: 1–64 letters, digits, dot, dash or underscore' });
    const parsed = parseMeasurementInput(req.body);
    if (!parsed.ok) return reply.code(422).send({ error: 'invalid measurement', details: parsed.errors });
    const at = new Date().toISOString();
    // The measurement and its audit record: one transaction.
    const out = await withAudit<{ status: 200 | 201 } | { status: 409 | 422; error: string }>(db, async (trx) => {
      const signed = await getSignoff(trx, study);
      if (signed) return { value: { status: 409 as const, error: `study ${study} was signed off at ${signed.signed_at}; measurements are part of the signed record` }, audit: null };
      const existing = await trx.selectFrom('measurements').selectAll().where('study_uid', '=', study).where('id', '=', id).executeTakeFirst();
      const audit = (action: string): AuditEvent => ({ actor: s.user.username, role: s.user.role, action, studyUID: study, detail: { id, tool: parsed.value.tool } });
      if (!existing) {
        const count = await trx.selectFrom('measurements').select((eb) => eb.fn.countAll<number>().as('n')).where('study_uid', '=', study).executeTakeFirst();
        if (Number(count?.n ?? 0) >= MAX_PER_STUDY) return { value: { status: 422 as const, error: `at most ${MAX_PER_STUDY} measurements per study` }, audit: null };
        await trx.insertInto('measurements').values({ id, study_uid: study, body: JSON.stringify(parsed.value), created_by: s.user.username, created_at: at, updated_by: s.user.username, updated_at: at, deleted_by: null, deleted_at: null }).execute();
        return { value: { status: 201 as const }, audit: audit('measurement-created') };
      }
      // A deleted measurement sent again is restored (the reader's undo of a deletion).
      await trx.updateTable('measurements').set({ body: JSON.stringify(parsed.value), updated_by: s.user.username, updated_at: at, deleted_by: null, deleted_at: null }).where('study_uid', '=', study).where('id', '=', id).execute();
      return { value: { status: 200 as const }, audit: audit(existing.deleted_at ? 'measurement-restored' : 'measurement-changed') };
    });
    if ('error' in out) return reply.code(out.status).send({ error: out.error });
    const [m] = (await measurementsForStudy(db, study)).filter((x) => x.id === id);
    return reply.code(out.status).send(m);
  });

  app.delete<{ Params: { study: string; id: string } }>('/api/studies/:study/measurements/:id', { config: { permission: 'measurements.write' } }, async (req, reply) => {
    const s = requireUser(req);
    const { study, id } = req.params;
    if (badStudy(study)) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    if (!MEASUREMENT_ID.test(id)) return reply.code(400).send({ error: 'id: 1–64 letters, digits, dot, dash or underscore' });
    const at = new Date().toISOString();
    // The deletion and its audit record: one transaction.
    const out = await withAudit<{ status: 404 | 409; error: string } | null>(db, async (trx) => {
      const signed = await getSignoff(trx, study);
      if (signed) return { value: { status: 409, error: `study ${study} was signed off at ${signed.signed_at}; measurements are part of the signed record` }, audit: null };
      const existing = await trx.selectFrom('measurements').select(['deleted_at']).where('study_uid', '=', study).where('id', '=', id).executeTakeFirst();
      if (!existing || existing.deleted_at) return { value: { status: 404, error: `no measurement ${id} in study ${study}` }, audit: null };
      await trx.updateTable('measurements').set({ deleted_by: s.user.username, deleted_at: at }).where('study_uid', '=', study).where('id', '=', id).execute();
      return { value: null, audit: { actor: s.user.username, role: s.user.role, action: 'measurement-deleted', studyUID: study, detail: { id } } };
    });
    if (out) return reply.code(out.status).send({ error: out.error });
    return reply.code(204).send();
  });
}
