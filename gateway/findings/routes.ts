/** Findings API: list per study, import (through the one ingestion path), verdicts, sign-off. Thin over ingest.ts and service.ts. */
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { parseFinding, compareFindings, isPending, type Finding } from '../../src/core/findings/finding.js';
import { parseVerdictRequest } from '../../src/core/findings/verdict.js';
import { findingsForStudy, signoffStatus, verdictHistory, getFinding, studyIsKnown } from './repository.js';
import { giveVerdict, signOff } from './service.js';
import { comparePriors } from '../report/routes.js';
import { recordStudyOpened } from '../report/opened.js';
import { isAiFinding } from '../../src/core/policy/policy.js';
import { trackingUidOf } from '../../src/core/sr/writer.js';
import { clientStampedFields, ingest, ingestRadiologistFinding, lateAndSuperseded, type IngestOutcome } from './ingest.js';
import { parseRadiologistFindingRequest } from '../../src/core/findings/radiologist.js';
import { srWarningsForStudy } from './sr-arrivals.js';
import { requireUser } from '../auth/plugin.js';
import { applyReaderPolicy, filterForReader, readerMaySeeFinding } from '../trust/service.js';

export async function registerFindingsRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { db, events } = ctx;
  const { orthanc } = ctx;

  app.get<{ Params: { study: string } }>('/api/studies/:study/findings', { config: { permission: 'findings.read' } }, async (req) => {
    const user = requireUser(req).user;
    const study = req.params.study;
    // Independent reads side by side: on PostgreSQL each is a round trip, and this route made them one
    // after another (bench:scale: the slowest route with two gateways).
    const [stored, { afterSignoff, superseded }, signoff, srWarnings] = await Promise.all([findingsForStudy(db, study), lateAndSuperseded(db, study), signoffStatus(db, study), srWarningsForStudy(db, study)]);
    const findings = stored.sort(compareFindings);
    // Everything returned passes the same reader policy as the live set.
    const [lateVisible, supersededVisible, shown] = await Promise.all([
      filterForReader(ctx, user.role, study, afterSignoff),
      filterForReader(ctx, user.role, study, superseded.map((x) => x.finding)),
      applyReaderPolicy(ctx, user, study, findings),
    ]);
    const late = lateVisible.sort(compareFindings);
    const shownSuperseded = new Set(supersededVisible.map((f) => f.id));
    // The reader opened the study: "in progress" for everyone until sign-off, and what governance counts
    // as "a radiologist opened the AI findings" (server-stamped, audited; gateway/report/opened.ts).
    if (/^[0-9]+(\.[0-9]+)*$/.test(study) && study.length <= 64) {
      const opened = await recordStudyOpened(db, user, study, shown.filter(isAiFinding).map((f) => f.id));
      // Every worklist, on every gateway, shows it in progress now rather than at its next refresh.
      if (opened?.first) events.emit('study-opened', { studyUID: study, actor: user.username });
    }
    return {
      findings: shown,
      signoff,
      /** AI output that arrived after sign-off: not part of the signed record (may start an addendum). */
      afterSignoff: late,
      /** Unverified findings a re-read of the same model replaced (what, when, by whom). */
      superseded: superseded
        .filter((x) => shownSuperseded.has(x.finding.id))
        .map((x) => ({ id: x.finding.id, label: x.finding.label, confidence: x.finding.confidence, model: x.finding.model, source: x.finding.source, supersededAt: x.supersededAt, supersededBy: x.supersededBy })),
      /** Conformance warnings of the study's SR documents, as the server read them. */
      srWarnings,
    };
  });

  // A finding the radiologist draws (one the AI missed): source 'radiologist', accepted by them, never AI.
  app.post<{ Params: { study: string } }>('/api/studies/:study/findings/radiologist', { config: { permission: 'findings.verdict' } }, async (req, reply) => {
    const s = requireUser(req);
    const study = req.params.study;
    if (!/^[0-9]+(\.[0-9]+)*$/.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const parsed = parseRadiologistFindingRequest(req.body);
    if (!parsed.ok) return reply.code(422).send({ error: 'invalid finding', details: parsed.errors });
    const out = await ingestRadiologistFinding({ db, events }, { studyUID: study, actor: { username: s.user.username, role: s.user.role }, input: parsed.value });
    if (!out.ok) return reply.code(out.status).send({ error: out.errors[0], details: out.errors });
    return reply.code(201).send(out.finding);
  });

  app.post('/api/findings', { config: { permission: 'findings.import' } }, async (req, reply) => {
    const s = requireUser(req);
    const body = req.body as unknown;
    const items = Array.isArray(body) ? body : [body];
    if (items.length > 500) return reply.code(422).send({ error: 'invalid finding', details: [{ index: 500, errors: ['(root): at most 500 findings per request'] }] });
    // Status, verdict, source, originalId, createdAt and ingestedBy are the server's: a request that sets
    // them is refused (422), never half-honoured. Source is stamped 'import', status 'ai-unverified'.
    const parsed = items.map((raw) => {
      const stamped = clientStampedFields(raw);
      if (stamped.length) return { ok: false as const, errors: stamped.map((k) => `${k}: set by the server, not accepted from a client`) };
      return parseFinding(raw && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as object), source: 'import' } : raw);
    });
    const bad = parsed.map((p, i) => (p.ok ? null : { index: i, errors: p.errors })).filter(Boolean);
    // All or nothing: one malformed finding rejects the request and stores none of it.
    if (bad.length) return reply.code(422).send({ error: 'invalid finding', details: bad });
    const byStudy = new Map<string, Finding[]>();
    for (const p of parsed) if (p.ok) byStudy.set(p.value.studyInstanceUID, [...(byStudy.get(p.value.studyInstanceUID) ?? []), p.value]);
    const outs: IngestOutcome[] = [];
    for (const [studyUID, findings] of byStudy) outs.push(await ingest({ db, events }, { studyUID, source: 'import', actor: { username: s.user.username, role: s.user.role }, findings }));
    const ids = (k: 'stored' | 'afterSignoff') => outs.flatMap((o) => o[k].map((f) => f.id));
    return reply.code(201).send({
      stored: ids('stored').length,
      unchanged: outs.flatMap((o) => o.unchanged),
      keptVerdicts: outs.flatMap((o) => o.keptVerdict.map((k) => k.id)),
      afterSignoff: ids('afterSignoff'),
      refused: outs.flatMap((o) => o.refused),
    });
  });

  app.post<{ Params: { id: string } }>('/api/findings/:id/verdict', { config: { permission: 'findings.verdict' } }, async (req, reply) => {
    const s = requireUser(req);
    if (!(await readerMaySeeFinding(ctx, s.user.role, req.params.id))) return reply.code(404).send({ error: `no finding ${req.params.id}` }); // trust: hidden = absent
    const parsed = parseVerdictRequest(req.body);
    if (!parsed.ok) return reply.code(422).send({ error: 'invalid verdict', details: parsed.errors });
    // Who and when are set here, never taken from the client.
    const out = await giveVerdict({ db, events }, req.params.id, parsed.value, s.user);
    if (!out.ok) return reply.code(out.status).send({ error: out.error, details: out.details });
    return { finding: out.finding, replaces: out.before.id !== out.finding.id ? out.before.id : undefined };
  });

  app.get<{ Params: { id: string } }>('/api/findings/:id/history', { config: { permission: 'findings.read' } }, async (req, reply) => {
    if (!(await readerMaySeeFinding(ctx, requireUser(req).user.role, req.params.id))) return reply.code(404).send({ error: `no finding ${req.params.id}` }); // trust: hidden = absent
    const history = await verdictHistory(db, req.params.id);
    if (!history.length && !(await getFinding(db, req.params.id))) return reply.code(404).send({ error: `no finding ${req.params.id}` });
    return { history };
  });

  app.post<{ Params: { study: string } }>('/api/studies/:study/signoff', { config: { permission: 'study.signoff' } }, async (req, reply) => {
    const s = requireUser(req);
    const study = req.params.study;
    if (!/^[0-9]+(\.[0-9]+)*$/.test(study) || study.length > 64) return reply.code(400).send({ error: 'study: must be a DICOM UID' });
    const body = parseSignoffBody(req.body);
    if (!body) return reply.code(422).send({ error: 'invalid sign-off', details: [SIGNOFF_BODY] });
    // A study nobody has: not in the PACS, no findings, no pre-read. Nothing to sign.
    const known = await studyIsKnown(db, orthanc, study);
    if (known === 'unreachable') return reply.code(503).send({ error: 'the PACS cannot be reached to confirm the study exists; try again' });
    if (!known) return reply.code(404).send({ error: `no study ${study}` });
    // Unverified findings this reader can see must be confirmed explicitly; hidden ones (policy) are recorded, not asked about.
    // (A finding that arrives between this look and the sign-off's transaction is asked about too.)
    const pending = (await findingsForStudy(db, study)).filter(isPending);
    const visible = new Set((await filterForReader(ctx, s.user.role, study, pending)).map((f) => f.id));
    const hidden = new Set(pending.filter((f) => !visible.has(f.id)).map((f) => f.id));
    // A lesion seen on the prior keeps the prior's Tracking UID in this study's SR (longitudinal tracking); best effort.
    const tracking: Record<string, string> = {};
    try {
      const cmp = await comparePriors(ctx, s.user.role, study);
      if (cmp.comparison && 'priorFindings' in cmp) {
        for (const c of cmp.comparison.changes) {
          const p = c.currentId && c.priorId ? cmp.priorFindings.find((f) => f.id === c.priorId) : undefined;
          if (p && c.currentId) tracking[c.currentId] = p.trackingUID ?? trackingUidOf(p.studyInstanceUID, p.originalId ?? p.id);
        }
      }
    } catch {
      /* no prior reachable: each finding keeps its own tracking UID */
    }
    const out = await signOff({ db, events, fhirUrl: ctx.config.fhirUrl }, { studyUID: study, user: s.user, confirmUnverified: body.confirmUnverified === true, confirmAiPending: body.confirmAiPending === true, browserAi: body.browserAi ?? null, mustConfirm: (id) => !hidden.has(id), tracking });
    const listed = (fs: Finding[]) => fs.map((f) => ({ id: f.id, label: f.label, confidence: f.confidence, model: f.model.name }));
    if (!out.ok) {
      // AI still reading: one answer with everything to confirm (the unverified findings too), so the viewer asks once.
      if ('aiPending' in out) return reply.code(409).send({ error: out.error, reason: 'ai-pending', aiPending: out.aiPending, ...(body.confirmUnverified ? {} : { unverified: listed(pending.filter((f) => visible.has(f.id))) }) });
      if (out.unverified) return reply.code(409).send({ error: out.error, reason: 'unverified', unverified: listed(out.unverified) });
      return reply.code(out.status).send({ error: out.error });
    }
    const o = out.signoff;
    return reply.code(201).send({ signedBy: o.signed_by, signedAt: o.signed_at, verified: o.verified_count, unverified: o.unverified_count, rejected: o.rejected_count, unverifiedIds: JSON.parse(o.unverified_ids) as string[] });
  });
}

const SIGNOFF_BODY = 'body: only { "confirmUnverified"?: boolean, "confirmAiPending"?: boolean, "browserAi"?: { "model": string, "done": integer, "total": integer } } is accepted';

/** The sign-off request: the signer's confirmations, and the viewer's own AI run still going (null when malformed). */
export function parseSignoffBody(raw: unknown): { confirmUnverified?: boolean; confirmAiPending?: boolean; browserAi?: { model: string; done: number; total: number } } | null {
  const body = (raw ?? {}) as Record<string, unknown>;
  if (typeof body !== 'object' || Array.isArray(body)) return null;
  if (Object.keys(body).some((k) => !['confirmUnverified', 'confirmAiPending', 'browserAi'].includes(k))) return null;
  for (const k of ['confirmUnverified', 'confirmAiPending']) if (body[k] !== undefined && typeof body[k] !== 'boolean') return null;
  const b = body.browserAi as Record<string, unknown> | undefined | null;
  if (b !== undefined && b !== null) {
    const count = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 100_000;
    if (typeof b !== 'object' || Array.isArray(b) || Object.keys(b).some((k) => !['model', 'done', 'total'].includes(k))) return null;
    if (typeof b.model !== 'string' || !/^[\w.-]{1,64}$/.test(b.model) || !count(b.done) || !count(b.total)) return null;
  }
  return body as ReturnType<typeof parseSignoffBody>;
}
