/** Findings API: list per study, import (validated), and verdicts. Thin over repository + audit. */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../db/database.js';
import { parseFinding, compareFindings } from '../../src/core/findings/finding.js';
import { upsertFinding, findingsForStudy } from './repository.js';
import { appendAudit } from '../audit/audit.js';
import { requireUser } from '../auth/plugin.js';

const READERS = ['radiologist', 'resident', 'er-attending', 'technologist'] as const;

export async function registerFindingsRoutes(app: FastifyInstance, store: Store): Promise<void> {
  const { db } = store;

  app.get<{ Params: { study: string } }>('/api/studies/:study/findings', { config: { roles: READERS } }, async (req) => {
    const findings = (await findingsForStudy(db, req.params.study)).sort(compareFindings);
    return { findings };
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
}
