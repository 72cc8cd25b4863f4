/** Governance routes: the per-model figures (JSON and CSV), alert rules and their notices. Governance and admin only. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireUser } from '../auth/plugin.js';
import { AlertRulesSchema } from '../../src/core/governance/rules.js';
import { ackNotice, currentRules, listNotices, runRulesCheck, setRules } from './alerts.js';
import { evaluateAll, evaluateModel } from '../../src/core/governance/evaluation.js';
import { exportAssessment, listAssessments } from './assessments.js';
import { driftOf } from './drift.js';
import { HU_BINS, driftToCsv } from '../../src/core/governance/drift.js';
import { appendAudit } from '../audit/audit.js';
import type { GatewayConfig } from '../config.js';
import type { OrthancClient } from '../orthanc/client.js';
import { computeFigures, figuresToCsv } from '../../src/core/governance/figures.js';
import { readHistory, type GovernanceDeps } from './records.js';

export function registerGovernanceRoutes(app: FastifyInstance, deps: GovernanceDeps, orthanc: OrthancClient, config: GatewayConfig): void {
  // Per model, version, rollout mode, modality and ISO week; silent models included (that is what silent mode is for).
  app.get('/api/governance/figures', { config: { permission: 'governance.read' } }, async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return computeFigures(await readHistory(deps));
  });

  app.get('/api/governance/figures.csv', { config: { permission: 'governance.read' } }, async (_req, reply) => {
    const f = computeFigures(await readHistory(deps));
    reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="governance-figures_${f.generatedAt.slice(0, 10)}.csv"`)
      .header('cache-control', 'no-store');
    return figuresToCsv(f.rows);
  });

  // ---- alert rules (versioned settings) and the notices they raise for admin and governance
  app.get('/api/governance/rules', { config: { permission: 'governance.read' } }, async () => currentRules(deps.db));

  app.put('/api/governance/rules', { config: { permission: 'governance.write' } }, async (req, reply) => {
    const s = requireUser(req);
    const body = z.object({ rules: z.unknown(), baseVersion: z.number().int().min(0).optional() }).strict().safeParse(req.body);
    if (!body.success) return reply.code(400).send({ error: 'invalid body', details: body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`) });
    const rules = AlertRulesSchema.safeParse(body.data.rules);
    if (!rules.success) return reply.code(422).send({ error: 'invalid rules', details: rules.error.issues.map((i) => `rules.${i.path.join('.')}: ${i.message}`) });
    const cur = await currentRules(deps.db);
    if (body.data.baseVersion !== undefined && body.data.baseVersion !== cur.version) return reply.code(409).send({ error: `rules changed meanwhile (now version ${cur.version}, you edited ${body.data.baseVersion})` });
    const saved = await setRules(deps.db, rules.data, s.user);
    // The new ranges are applied at once: a model outside them is noticed now, not at the next health record.
    const check = await runRulesCheck({ ...deps, orthanc });
    return { ...saved, raised: check.raised.length, breaches: check.breaches.length };
  });

  app.get<{ Querystring: { all?: string } }>('/api/governance/notices', { config: { permission: 'governance.read' } }, async (req) => ({ notices: await listNotices(deps.db, { includeAcked: req.query?.all === '1' }) }));

  app.post<{ Params: { key: string } }>('/api/governance/notices/:key/ack', { config: { permission: 'governance.write' } }, async (req, reply) => {
    const s = requireUser(req);
    const key = z.string().min(1).max(600).safeParse(req.params.key);
    if (!key.success) return reply.code(400).send({ error: 'invalid notice key' });
    if (!(await ackNotice(deps.db, key.data, s.user))) return reply.code(404).send({ error: 'no open notice with that key' });
    return { acknowledged: key.data };
  });

  // ---- silent-mode evaluation against the final reads, and the threshold what-if (replaying stored outputs)
  app.get('/api/governance/evaluation', { config: { permission: 'governance.read' } }, async () => ({ evaluations: evaluateAll(await readHistory(deps)) }));

  app.get('/api/governance/what-if', { config: { permission: 'governance.read' } }, async (req, reply) => {
    const q = z
      .object({
        model: z.string().min(1).max(64),
        version: z.string().min(1).max(64),
        mode: z.enum(['assistive', 'silent', 'off']).optional(),
        threshold: z.coerce.number().min(0).max(1),
      })
      .strict()
      .safeParse(req.query);
    if (!q.success) return reply.code(400).send({ error: 'invalid query', details: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
    const { threshold, ...sel } = q.data;
    return evaluateModel(await readHistory(deps), sel, threshold);
  });

  // ---- assessment SRs: each standing accept / modify / reject as a DICOM SR referencing the AI result it assesses
  app.get<{ Querystring: { study?: string } }>('/api/governance/assessments', { config: { permission: 'governance.assessment-export' } }, async (req, reply) => {
    const study = z.string().regex(/^[0-9]+(\.[0-9]+)*$/).max(64).optional().safeParse(req.query?.study);
    if (!study.success) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    return { assessments: (await listAssessments(deps.db, study.data)).map((a) => ({ ...a, href: `/api/governance/assessments/${a.seq}.dcm` })) };
  });

  app.get<{ Params: { file: string } }>('/api/governance/assessments/:file', { config: { permission: 'governance.assessment-export' } }, async (req, reply) => {
    const s = requireUser(req);
    const m = /^([1-9][0-9]{0,9})\.dcm$/.exec(req.params.file);
    if (!m) return reply.code(400).send({ error: 'expected <verdict number>.dcm' });
    const out = await exportAssessment(deps.db, orthanc, config, Number(m[1]));
    if (!out.ok) return reply.code(out.status).send({ error: out.error });
    await appendAudit(deps.db, { actor: s.user.username, role: s.user.role, action: 'assessment-sr-exported', studyUID: out.row.studyUID, findingId: out.row.resultId, detail: { verdict: out.row.seq, action: out.row.action, aiResultReferenced: out.aiResult } });
    reply.header('content-type', 'application/dicom').header('content-disposition', `attachment; filename="assessment-${out.row.seq}.dcm"`).header('cache-control', 'no-store');
    return reply.send(Buffer.from(out.dicom));
  });

  // ---- drift: output scores and inputs (scanner, slice thickness, intensity histogram) per model version and week against its earlier weeks
  app.get('/api/governance/drift', { config: { permission: 'governance.read' } }, async () => {
    const { rules } = await currentRules(deps.db);
    return { maxDistance: rules.driftMaxDistance ?? null, minSample: rules.minSample, huBins: HU_BINS, rows: await driftOf(deps.db, orthanc, await readHistory(deps)) };
  });

  app.get('/api/governance/drift.csv', { config: { permission: 'governance.read' } }, async (_req, reply) => {
    const rows = await driftOf(deps.db, orthanc, await readHistory(deps));
    reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="governance-drift_${new Date().toISOString().slice(0, 10)}.csv"`)
      .header('cache-control', 'no-store');
    return driftToCsv(rows);
  });
}
