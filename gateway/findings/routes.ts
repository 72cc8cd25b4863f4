/** Findings API: list per study, import (validated), verdicts, sign-off. Thin over repository + audit. */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../db/database.js';
import { parseFinding, compareFindings } from '../../src/core/findings/finding.js';
import { parseVerdictRequest } from '../../src/core/findings/verdict.js';
import { upsertFinding, findingsForStudy, getSignoff, recordVerdict, signOffStudy, verdictHistory, getFinding } from './repository.js';
import { appendAudit } from '../audit/audit.js';
import { requireUser } from '../auth/plugin.js';
import { onStudySignedOff } from '../outbox/events.js';
import { applyReaderPolicy, readerMaySeeFinding } from '../trust/service.js';

const READERS = ['radiologist', 'resident', 'er-attending', 'technologist'] as const;
/** Who may act on AI findings. Residents' verdicts are recorded with their role; only a radiologist signs. */
const VERDICT_ROLES = ['radiologist', 'resident'] as const;
const AUDIT_ACTION = { accept: 'finding-accepted', reject: 'finding-rejected', modify: 'finding-modified', undo: 'finding-verdict-undone' } as const;

export async function registerFindingsRoutes(app: FastifyInstance, store: Store): Promise<void> {
  const { db } = store;

  app.get<{ Params: { study: string } }>('/api/studies/:study/findings', { config: { roles: READERS } }, async (req) => {
    const findings = (await findingsForStudy(db, req.params.study)).sort(compareFindings);
    const signoff = await getSignoff(db, req.params.study);
    return { findings: await applyReaderPolicy(db, requireUser(req).user, req.params.study, findings), signoff: signoff && { signedBy: signoff.signed_by, signedAt: signoff.signed_at } };
  });

  app.post('/api/findings', { config: { roles: ['radiologist', 'admin'] } }, async (req, reply) => {
    const s = requireUser(req);
    const body = req.body as unknown;
    const items = Array.isArray(body) ? body : [body];
    const parsed = items.map(parseFinding);
    const bad = parsed.map((p, i) => (p.ok ? null : { index: i, errors: p.errors })).filter(Boolean);
    // All or nothing: one malformed finding rejects the request and stores none of it.
    if (bad.length) return reply.code(422).send({ error: 'invalid finding', details: bad });
    for (const p of parsed) if (p.ok) await upsertFinding(db, p.value);
    for (const p of parsed) if (p.ok) await appendAudit(db, { actor: s.user.username, role: s.user.role, action: 'finding-imported', studyUID: p.value.studyInstanceUID, findingId: p.value.id });
    return reply.code(201).send({ stored: parsed.length });
  });

  app.post<{ Params: { id: string } }>('/api/findings/:id/verdict', { config: { roles: VERDICT_ROLES } }, async (req, reply) => {
    const s = requireUser(req);
    if (!(await readerMaySeeFinding(db, s.user.role, req.params.id))) return reply.code(404).send({ error: `no finding ${req.params.id}` }); // trust: hidden = absent
    const parsed = parseVerdictRequest(req.body);
    if (!parsed.ok) return reply.code(422).send({ error: 'invalid verdict', details: parsed.errors });
    // Who and when are set here, never taken from the client.
    const out = await recordVerdict(db, req.params.id, parsed.value, { username: s.user.username, role: s.user.role }, new Date().toISOString());
    if (!out.ok) {
      if (out.status === 409) await appendAudit(db, { actor: s.user.username, role: s.user.role, action: `finding-${parsed.value.action}`, outcome: 4, findingId: req.params.id, detail: { refused: out.error } });
      return reply.code(out.status).send({ error: out.error, details: out.details });
    }
    await appendAudit(db, {
      actor: s.user.username,
      role: s.user.role,
      action: AUDIT_ACTION[out.action],
      studyUID: out.finding.studyInstanceUID,
      findingId: out.finding.id,
      detail: { from: out.before.status, to: out.finding.status, ...(out.undoneAction ? { undid: out.undoneAction } : {}), ...(out.finding.originalId ? { originalId: out.finding.originalId } : {}), ...(parsed.value.reason ? { reason: parsed.value.reason } : {}) },
    });
    return { finding: out.finding, replaces: out.before.id !== out.finding.id ? out.before.id : undefined };
  });

  app.get<{ Params: { id: string } }>('/api/findings/:id/history', { config: { roles: READERS } }, async (req, reply) => {
    if (!(await readerMaySeeFinding(db, requireUser(req).user.role, req.params.id))) return reply.code(404).send({ error: `no finding ${req.params.id}` }); // trust: hidden = absent
    const history = await verdictHistory(db, req.params.id);
    if (!history.length && !(await getFinding(db, req.params.id))) return reply.code(404).send({ error: `no finding ${req.params.id}` });
    return { history };
  });

  app.post<{ Params: { study: string } }>('/api/studies/:study/signoff', { config: { roles: ['radiologist'] } }, async (req, reply) => {
    const s = requireUser(req);
    const study = req.params.study;
    if (!/^[0-9]+(\.[0-9]+)*$/.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const out = await signOffStudy(db, study, { username: s.user.username, role: s.user.role }, new Date().toISOString(), async (trx, findings, signoff) => {
      // Same transaction: the sign-off is never recorded without its verified SR + final ORU in the outbox.
      // Unverified AI findings are not part of the verified report; rejected ones are (as "absent").
      const reported = findings.filter((f) => f.status !== 'ai-unverified');
      await onStudySignedOff(trx, { studyInstanceUID: study, findings: reported, user: s.user, signedAt: signoff.signed_at });
    });
    if (!out.ok) return reply.code(out.status).send({ error: out.error });
    await appendAudit(db, { actor: s.user.username, role: s.user.role, action: 'study-signed-off', studyUID: study, detail: { verified: out.signoff.verified_count, unverified: out.signoff.unverified_count, rejected: out.signoff.rejected_count } });
    return reply.code(201).send({ signedBy: out.signoff.signed_by, signedAt: out.signoff.signed_at, verified: out.signoff.verified_count, unverified: out.signoff.unverified_count, rejected: out.signoff.rejected_count });
  });
}
