/** Trust routes: policy, rollout, AI disable, AI status, users, audit export. (Governance figures: gateway/governance.) */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Store } from '../db/database.js';
import type { GatewayContext } from '../context.js';
import { requireUser } from '../auth/plugin.js';
import { appendAudit, withAudit } from '../audit/audit.js';
import { auditRange, toCsv, toDicomAuditXml, toExportRecords, toJsonLines } from '../audit/export.js';
import { AI_DISABLE_REASONS, PolicySchema, ROLLOUT_MODES, describePolicyIssues, type AiDisableReason } from '../../src/core/policy/policy.js';
import { ROLES } from '../../src/core/auth/roles.js';
import { can } from '../../src/core/auth/permissions.js';
import {
  currentPolicy,
  disableAiForStudy,
  disabledModalities,
  enableAiForStudy,
  isAiAllowed,
  policyHistory,
  rolloutMode,
  rolloutTable,
  setDisabledModalities,
  setPolicy,
  setRolloutMode,
  studyDisable,
} from './service.js';
import { checkIndication } from './models.js';

const UID = z.string().min(1).max(64).regex(/^[0-9]+(\.[0-9]+)*$/, 'must be a DICOM UID (digits and dots)');
const MODEL_NAME = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a model name: lower-case letters, digits and dashes');
const MODALITY = z.string().regex(/^[A-Z]{2,4}$/, 'a DICOM modality code such as CT');
const ISO = z.string().datetime({ offset: true });

function bad(reply: FastifyReply, field: string, errors: string[] | z.ZodError, status = 400) {
  const list = Array.isArray(errors) ? errors : errors.issues.map((i) => `${[field, ...i.path].filter(Boolean).join('.')}: ${i.message}`);
  return reply.code(status).send({ error: `invalid ${field}`, details: list });
}

function studyParam(params: unknown): { ok: true; uid: string } | { ok: false; error: z.ZodError } {
  const r = z.object({ study: UID }).safeParse(params);
  return r.success ? { ok: true, uid: r.data.study } : { ok: false, error: r.error };
}

async function pseudonymSecret(store: Store): Promise<string> {
  const { db } = store;
  const row = await db.selectFrom('trust_settings').select('value').where('key', '=', 'audit-pseudonym-secret').executeTakeFirst();
  if (row) return row.value;
  const value = crypto.randomBytes(32).toString('hex');
  await db.insertInto('trust_settings').values({ key: 'audit-pseudonym-secret', value }).onConflict((oc) => oc.column('key').doNothing()).execute();
  return (await db.selectFrom('trust_settings').select('value').where('key', '=', 'audit-pseudonym-secret').executeTakeFirstOrThrow()).value;
}

/**
 * `ctx.events`: every change here that alters what readers see is announced after it is committed, so
 * triage, alerts and the live views are recomputed at once (gateway/preread/triage.ts listens).
 */
export async function registerTrustRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const { store, config, events, db } = ctx;

  // ---- role policy (admin only; every change is a new version, audited with before/after)
  app.get('/api/admin/policy', { config: { permission: 'policy.read' } }, async () => {
    const cur = await currentPolicy(db);
    return { version: cur.version, policy: cur.policy, changedBy: cur.changedBy, changedAt: cur.changedAt, history: await policyHistory(db), roles: ROLES };
  });

  app.put('/api/admin/policy', { config: { permission: 'policy.write' } }, async (req, reply) => {
    const s = requireUser(req);
    const body = z.object({ policy: z.unknown(), note: z.string().max(200).optional(), baseVersion: z.number().int().min(0).optional() }).strict().safeParse(req.body);
    if (!body.success) return bad(reply, 'body', body.error);
    const parsed = PolicySchema.safeParse(body.data.policy);
    if (!parsed.success) return reply.code(422).send({ error: 'invalid policy', details: describePolicyIssues(parsed.error).map((d) => `policy.${d}`) });
    const cur = await currentPolicy(db);
    // Two admins editing at once: the second save must not silently undo the first.
    if (body.data.baseVersion !== undefined && body.data.baseVersion !== cur.version) {
      return reply.code(409).send({ error: `policy changed meanwhile (now version ${cur.version}, you edited ${body.data.baseVersion})` });
    }
    const v = await setPolicy(db, parsed.data, s.user, body.data.note);
    events.emit('policy-changed', { what: 'role-policy', actor: s.user.username });
    return { version: v.version, policy: v.policy };
  });

  // ---- rollout modes per model (admin; effective at once)
  app.get('/api/admin/rollout', { config: { permission: 'policy.read' } }, async () => {
    const t = await rolloutTable(db);
    const names = new Set([...ctx.models.manifests().map((m) => m.name), ...Object.keys(t.modes)]);
    return { defaultMode: t.defaultMode, models: [...names].sort().map((name) => ({ name, mode: t.modes[name] ?? t.defaultMode })) };
  });

  app.get<{ Params: { name: string } }>('/api/admin/models/:name/rollout', { config: { permission: 'policy.read' } }, async (req, reply) => {
    const name = MODEL_NAME.safeParse(req.params.name);
    if (!name.success) return bad(reply, 'name', name.error);
    return { model: name.data, mode: await rolloutMode(db, name.data) };
  });

  app.put<{ Params: { name: string } }>('/api/admin/models/:name/rollout', { config: { permission: 'policy.write' } }, async (req, reply) => {
    const s = requireUser(req);
    const name = MODEL_NAME.safeParse(req.params.name);
    if (!name.success) return bad(reply, 'name', name.error);
    const body = z.object({ mode: z.enum(ROLLOUT_MODES) }).strict().safeParse(req.body);
    if (!body.success) return bad(reply, 'body', body.error);
    const r = await setRolloutMode(db, name.data, body.data.mode, s.user);
    if (r.before !== r.after) events.emit('policy-changed', { what: 'rollout', actor: s.user.username, model: name.data });
    return { model: name.data, mode: r.after, previous: r.before };
  });

  // ---- AI disable per modality (admin)
  app.get('/api/admin/ai-disabled-modalities', { config: { permission: 'policy.read' } }, async () => ({ modalities: await disabledModalities(db) }));

  app.put('/api/admin/ai-disabled-modalities', { config: { permission: 'policy.write' } }, async (req, reply) => {
    const s = requireUser(req);
    const body = z.object({ modalities: z.array(MODALITY).max(50) }).strict().safeParse(req.body);
    if (!body.success) return bad(reply, 'body', body.error);
    const r = await setDisabledModalities(db, body.data.modalities, s.user);
    if (r.before.join() !== r.after.join()) events.emit('policy-changed', { what: 'modalities', actor: s.user.username });
    return { modalities: r.after, previous: r.before };
  });

  // ---- AI disable per study (any radiologist, from the viewer, with a reason; reversible)
  const reasonKeys = Object.keys(AI_DISABLE_REASONS) as [AiDisableReason, ...AiDisableReason[]];
  app.post<{ Params: { study: string } }>('/api/studies/:study/ai-disabled', { config: { permission: 'study.ai-disable' } }, async (req, reply) => {
    const s = requireUser(req);
    const p = studyParam(req.params);
    if (!p.ok) return bad(reply, 'study', p.error);
    const body = z.object({ reason: z.enum(reasonKeys) }).strict().safeParse(req.body);
    if (!body.success) return bad(reply, 'body', body.error);
    const changed = await disableAiForStudy(db, p.uid, AI_DISABLE_REASONS[body.data.reason], s.user);
    if (changed) events.emit('study-ai-changed', { studyUID: p.uid, disabled: true, actor: s.user.username, reason: AI_DISABLE_REASONS[body.data.reason] });
    // 200 for a replay (already off for this reason): the same answer, nothing new made.
    return reply.code(changed ? 201 : 200).send({ study: p.uid, disabled: true, reason: AI_DISABLE_REASONS[body.data.reason] });
  });

  app.delete<{ Params: { study: string } }>('/api/studies/:study/ai-disabled', { config: { permission: 'study.ai-disable' } }, async (req, reply) => {
    const s = requireUser(req);
    const p = studyParam(req.params);
    if (!p.ok) return bad(reply, 'study', p.error);
    const was = await enableAiForStudy(db, p.uid, s.user);
    if (!was) return reply.code(404).send({ error: 'AI is not disabled for this study' });
    events.emit('study-ai-changed', { studyUID: p.uid, disabled: false, actor: s.user.username });
    return { study: p.uid, disabled: false };
  });

  app.get('/api/ai-disable-reasons', { config: { permission: 'study.ai-status' } }, async () => ({ reasons: Object.entries(AI_DISABLE_REASONS).map(([id, label]) => ({ id, label })) }));

  // ---- why AI is (or is not) there for a study
  // `?series=<uid>`: the verdict for that series (the browser asks for the series on screen before it runs a model).
  app.get<{ Params: { study: string }; Querystring: { series?: string } }>('/api/studies/:study/ai-status', { config: { permission: 'study.ai-status' } }, async (req, reply) => {
    const p = studyParam(req.params);
    if (!p.ok) return bad(reply, 'study', p.error);
    const q = z.object({ series: UID.optional() }).strict().safeParse(req.query ?? {});
    if (!q.success) return bad(reply, 'query', q.error);
    const seriesUID = q.data.series ?? null;
    const facts = await ctx.facts(p.uid);
    const disabled = await studyDisable(db, p.uid);
    const allowed = await isAiAllowed(db, { studyUID: p.uid, modality: facts?.modality });
    const t = await rolloutTable(db);
    const models = ctx.models.manifests().map((m) => {
      const mode = t.modes[m.name] ?? t.defaultMode;
      // THE eligibility rule (src/core/ai/eligibility.ts) on THE facts: the browser applies the same to its own.
      const ind = checkIndication(m, facts, seriesUID);
      let state: 'shown' | 'silent' | 'off' | 'outside-indication' | 'disabled';
      let reason: string | undefined;
      if (!allowed.ok) [state, reason] = ['disabled', allowed.reason];
      else if (!ind.ok) [state, reason] = ['outside-indication', ind.reason];
      else if (mode === 'off') [state, reason] = ['off', `model ${m.name} is switched off`];
      else if (mode === 'silent') [state, reason] = ['silent', `model ${m.name} runs in silent mode: results are recorded for governance, not shown`];
      else state = 'shown';
      return { name: m.name, version: m.version, rollout: mode, state, reason, eligible: ind.ok, eligibilityReason: ind.ok ? null : ind.reason, series: ind.series?.seriesInstanceUID ?? seriesUID };
    });
    const shown = models.filter((m) => m.state === 'shown');
    const summary = !allowed.ok
      ? allowed.reason
      : shown.length
        ? `AI: ${shown.map((m) => m.name).join(', ')}`
        : models.length
          ? `No AI for this study: ${models.map((m) => m.reason).join('; ')}`
          : 'No AI models installed';
    return {
      study: p.uid,
      modality: facts?.modality ?? null,
      bodyPart: facts?.bodyPart ?? null,
      patientAgeYears: facts?.patientAgeYears ?? null,
      aiEnabled: allowed.ok && shown.length > 0,
      disabled: disabled ? { scope: 'study', reason: disabled.reason, by: disabled.by, at: disabled.at } : !allowed.ok ? { scope: allowed.code === 'modality-disabled' ? 'modality' : 'study', reason: allowed.reason } : null,
      models,
      summary,
    };
  });

  // ---- governance figures: moved to the governance capability (gateway/governance/routes.ts)

  // ---- users and roles (admin)
  app.get('/api/admin/users', { config: { permission: 'users.admin' } }, async () => {
    const rows = await db.selectFrom('users').select(['username', 'display_name', 'role', 'locked_until', 'created_at']).orderBy('username').execute();
    const now = new Date().toISOString();
    return { users: rows.map((u) => ({ username: u.username, displayName: u.display_name, role: u.role, locked: !!u.locked_until && u.locked_until > now, createdAt: u.created_at })) };
  });

  app.put<{ Params: { username: string } }>('/api/admin/users/:username/role', { config: { permission: 'users.admin' } }, async (req, reply) => {
    const s = requireUser(req);
    const params = z.object({ username: z.string().min(1).max(64) }).safeParse(req.params);
    if (!params.success) return bad(reply, 'username', params.error);
    const body = z.object({ role: z.enum(ROLES) }).strict().safeParse(req.body);
    if (!body.success) return bad(reply, 'body', body.error);
    // An admin cannot change their own role: no self-escalation and no locking the last admin out.
    if (params.data.username === s.user.username) return reply.code(403).send({ error: 'you may not change your own role' });
    const u = await db.selectFrom('users').select(['id', 'role']).where('username', '=', params.data.username).executeTakeFirst();
    if (!u) return reply.code(404).send({ error: `no user ${params.data.username}` });
    // A replay (the role is already that): nothing changes, nothing is recorded, sessions stay.
    if (u.role === body.data.role) return { username: params.data.username, role: body.data.role };
    // The role change, the ended sessions and the audit record: one transaction. Only from the role read
    // above: of two admins changing it at once, the second is told rather than recorded with a stale "before".
    const changed = await withAudit(db, async (trx) => {
      const r = await trx.updateTable('users').set({ role: body.data.role }).where('id', '=', u.id).where('role', '=', u.role).executeTakeFirst();
      if (!Number(r.numUpdatedRows)) return { value: false, audit: null };
      // Sessions carry the role as looked up per request, but end them anyway so the change is felt at once.
      await trx.deleteFrom('sessions').where('user_id', '=', u.id).execute();
      return { value: true, audit: { actor: s.user.username, role: s.user.role, action: 'settings-changed', detail: { setting: 'user-role', user: params.data.username, before: u.role, after: body.data.role } } };
    });
    if (!changed) return reply.code(409).send({ error: `the role of ${params.data.username} changed meanwhile; reload and try again` });
    return { username: params.data.username, role: body.data.role };
  });

  app.post<{ Params: { username: string } }>('/api/admin/users/:username/unlock', { config: { permission: 'users.admin' } }, async (req, reply) => {
    const s = requireUser(req);
    const params = z.object({ username: z.string().min(1).max(64) }).safeParse(req.params);
    if (!params.success) return bad(reply, 'username', params.error);
    // The unlock and its audit record: one transaction. A user with nothing to unlock (a replay) is left
    // as is and nothing is recorded.
    const found = await withAudit(db, async (trx) => {
      const u = await trx.selectFrom('users').select('id').where('username', '=', params.data.username).executeTakeFirst();
      if (!u) return { value: false, audit: null };
      const r = await trx
        .updateTable('users')
        .set({ failed_logins: 0, locked_until: null })
        .where('id', '=', u.id)
        .where((eb) => eb.or([eb('failed_logins', '>', 0), eb('locked_until', 'is not', null)]))
        .executeTakeFirst();
      return { value: true, audit: Number(r.numUpdatedRows) ? { actor: s.user.username, role: s.user.role, action: 'settings-changed', detail: { setting: 'user-unlock', user: params.data.username } } : null };
    });
    if (!found) return reply.code(404).send({ error: `no user ${params.data.username}` });
    return { username: params.data.username, locked: false };
  });

  // ---- acts that happen only in the browser (overlay toggles) reach the audit trail through here
  app.post('/api/audit/client-events', { config: { permission: 'audit.client-events' } }, async (req, reply) => {
    const s = requireUser(req);
    const body = z
      .object({
        action: z.enum(['overlay-toggled', 'heatmap-toggled']),
        studyUID: UID,
        findingId: z.string().min(1).max(128).optional(),
        visible: z.boolean(),
      })
      .strict()
      .safeParse(req.body);
    if (!body.success) return bad(reply, 'body', body.error);
    await appendAudit(db, { actor: s.user.username, role: s.user.role, action: body.data.action, studyUID: body.data.studyUID, findingId: body.data.findingId, detail: { visible: body.data.visible } });
    return reply.code(201).send({ recorded: true });
  });

  // ---- audit export (admin and governance; de-identified)
  app.get('/api/audit/export', { config: { permission: 'audit.export' } }, async (req, reply) => {
    const s = requireUser(req);
    const q = z
      .object({ from: ISO, to: ISO, format: z.enum(['jsonl', 'csv', 'dicom']).default('jsonl') })
      .strict()
      .refine((x) => x.from < x.to, { message: 'from must be before to', path: ['from'] })
      .safeParse(req.query);
    if (!q.success) return bad(reply, 'query', q.error);
    const from = new Date(q.data.from).toISOString();
    const to = new Date(q.data.to).toISOString();
    const rows = await auditRange(db, from, to);
    const recs = toExportRecords(rows, { pseudonymiseActors: !can(s.user.role, 'audit.identified-actors'), secret: await pseudonymSecret(store) });
    await appendAudit(db, { actor: s.user.username, role: s.user.role, action: 'audit-exported', detail: { from, to, format: q.data.format, records: recs.length } });
    const stamp = from.slice(0, 10) + '_' + to.slice(0, 10);
    if (q.data.format === 'csv') {
      reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="audit_${stamp}.csv"`);
      return toCsv(recs);
    }
    if (q.data.format === 'dicom') {
      reply.header('content-type', 'application/xml; charset=utf-8').header('content-disposition', `attachment; filename="audit_${stamp}.xml"`);
      return toDicomAuditXml(recs, 'reading-station-gateway');
    }
    reply.header('content-type', 'application/x-ndjson; charset=utf-8').header('content-disposition', `attachment; filename="audit_${stamp}.jsonl"`);
    return toJsonLines(recs);
  });
}
