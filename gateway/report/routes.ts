/** Report API (issue 16): the draft (read, save), the signed report with its addenda, and adding an addendum. */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { requireUser } from '../auth/plugin.js';
import { parseDraft } from '../../src/core/report/draft.js';
import { addenda, getReport, saveDraft } from './repository.js';
import { addAddendum } from '../findings/service.js';
import { appendAudit } from '../audit/audit.js';

const UID = /^[0-9]+(\.[0-9]+)*$/;

export async function registerReportRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { db, events } = ctx;

  app.get<{ Params: { study: string } }>('/api/studies/:study/report', { config: { permission: 'report.read' } }, async (req, reply) => {
    const study = req.params.study;
    if (!UID.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const r = await getReport(db, study);
    return { report: r, addenda: await addenda(db, study) };
  });

  app.put<{ Params: { study: string } }>('/api/studies/:study/report', { config: { permission: 'report.write' } }, async (req, reply) => {
    const s = requireUser(req);
    const study = req.params.study;
    if (!UID.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const parsed = parseDraft((req.body as { draft?: unknown } | null)?.draft);
    if (!parsed.ok) return reply.code(422).send({ error: 'invalid report draft', details: parsed.errors });
    const out = await saveDraft(db, study, parsed.value, s.user.username, new Date().toISOString());
    if (!out.ok) return reply.code(out.status).send({ error: out.error });
    await appendAudit(db, { actor: s.user.username, role: s.user.role, action: 'report-draft-saved', studyUID: study, detail: { lines: parsed.value.findings.length } });
    return { report: out.report };
  });

  app.post<{ Params: { study: string } }>('/api/studies/:study/addendum', { config: { permission: 'report.addendum' } }, async (req, reply) => {
    const s = requireUser(req);
    const study = req.params.study;
    if (!UID.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const body = req.body as { text?: unknown } | null;
    if (!body || typeof body.text !== 'string' || Object.keys(body).some((k) => k !== 'text')) return reply.code(422).send({ error: 'invalid addendum', details: ['body: only { "text": string } is accepted'] });
    const out = await addAddendum({ db, events }, { studyUID: study, user: s.user, text: body.text });
    if (!out.ok) return reply.code(out.status).send({ error: out.error });
    return reply.code(201).send({ id: out.id, addedAt: out.addedAt });
  });
}
