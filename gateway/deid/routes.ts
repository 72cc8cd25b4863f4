/**
 * De-identified exports for governance (issue 17 items 5-6): the feedback dataset for retraining, and
 * the assessment SRs de-identified (the identified ones stay admin-only: governance.assessment-export).
 * Both governance.deid-export (governance and admin); every export audited with who, what and how many.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireUser } from '../auth/plugin.js';
import { appendAudit } from '../audit/audit.js';
import type { GatewayContext } from '../context.js';
import { exportAssessment, listAssessments } from '../governance/assessments.js';
import { BurnedInAnnotationError, deidentify } from '../../src/core/deid/deidentify.js';
import { readDataset, writeDataset } from '../../src/core/deid/part10.js';
import { buildFeedbackExport } from './export.js';
import { createUidMap } from './uid-map.js';

const Query = z
  .object({
    model: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).max(64),
    from: z.string().datetime({ offset: true }).optional(),
    to: z.string().datetime({ offset: true }).optional(),
  })
  .strict();

export function registerDeidRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get<{ Querystring: Record<string, string> }>('/api/governance/feedback-export', { config: { permission: 'governance.deid-export' } }, async (req, reply) => {
    const s = requireUser(req);
    const q = Query.safeParse(req.query ?? {});
    if (!q.success) return reply.code(400).send({ error: q.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`) });
    const from = q.data.from ? new Date(q.data.from).toISOString() : undefined;
    const to = q.data.to ? new Date(q.data.to).toISOString() : undefined;
    const { archive, summary } = await buildFeedbackExport({ db: ctx.db, orthanc: ctx.orthanc }, { model: q.data.model, from, to, actor: { username: s.user.username, role: s.user.role } });
    reply
      .header('content-type', 'application/x-tar')
      .header('content-disposition', `attachment; filename="feedback-${q.data.model}-${summary.exportId.slice(0, 8)}.tar"`)
      .header('x-export-id', summary.exportId)
      .header('cache-control', 'no-store');
    return reply.send(Buffer.from(archive));
  });

  // The assessment SRs without PHI: the list names no assessor (role only), each file is de-identified on the way out.
  app.get('/api/governance/deid/assessments', { config: { permission: 'governance.deid-export' } }, async () => ({
    assessments: (await listAssessments(ctx.db)).map((a) => ({ seq: a.seq, action: a.action, role: a.role, href: `/api/governance/deid/assessments/${a.seq}.dcm` })),
  }));

  app.get<{ Params: { file: string } }>('/api/governance/deid/assessments/:file', { config: { permission: 'governance.deid-export' } }, async (req, reply) => {
    const s = requireUser(req);
    const m = /^([1-9][0-9]{0,9})\.dcm$/.exec(req.params.file);
    if (!m) return reply.code(400).send({ error: 'expected <verdict number>.dcm' });
    const out = await exportAssessment(ctx.db, ctx.orthanc, ctx.config, Number(m[1]), { withoutFreeText: true });
    if (!out.ok) return reply.code(out.status).send({ error: out.error });
    let bytes: Uint8Array;
    try {
      bytes = writeDataset(deidentify(readDataset(out.dicom), { remapUid: createUidMap().remap }));
    } catch (e) {
      if (!(e instanceof BurnedInAnnotationError)) throw e;
      return reply.code(409).send({ error: e.message });
    }
    await appendAudit(ctx.db, { actor: s.user.username, role: s.user.role, action: 'assessment-sr-exported', studyUID: out.row.studyUID, findingId: out.row.resultId, detail: { verdict: out.row.seq, action: out.row.action, aiResultReferenced: out.aiResult, deidentified: true } });
    reply.header('content-type', 'application/dicom').header('content-disposition', `attachment; filename="assessment-${out.row.seq}-deid.dcm"`).header('cache-control', 'no-store');
    return reply.send(Buffer.from(bytes));
  });
}
