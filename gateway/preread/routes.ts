/**
 * Pre-read routes: per-study routing and job state, the triage map the worklist merges, live
 * events (SSE), critical alerts and their acknowledgement, and the AI worker switch.
 * What a role receives comes from the triage service's per-role view (THE reader policy applied for
 * that role): a role that may not see the finding behind a flag gets neither the flag nor its
 * reason, over every path (list, per study, live stream, alerts).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { GatewayContext } from '../context.js';
import { requireUser } from '../auth/plugin.js';
import { appendAudit } from '../audit/audit.js';
import { DEFAULT_IDLE_MS } from '../auth/sessions.js';
import { can } from '../../src/core/auth/permissions.js';
import { rolloutModeOf, ruleFor } from '../../src/core/policy/policy.js';
import { aiDisabledFor, readerPolicySnapshot } from '../trust/service.js';
import type { PrereadService } from './service.js';
import type { AlertEntry, LiveTriage, TriageService } from './triage.js';

const UID = /^[0-9]+(\.[0-9]+)*$/;

export async function registerPrereadRoutes(app: FastifyInstance, ctx: GatewayContext, svc: PrereadService, triage: TriageService): Promise<void> {
  const { db } = ctx;
  app.get<{ Params: { study: string } }>('/api/studies/:study/preread', { config: { permission: 'study.ai-status' } }, async (req, reply) => {
    const user = requireUser(req).user;
    if (!UID.test(req.params.study)) return reply.code(400).send({ error: 'study: must be a DICOM UID (digits and dots)' });
    const s = await svc.study(req.params.study);
    const view = s && (await triage.viewFor(user.role, req.params.study));
    if (!s || !view) return reply.code(404).send({ error: `no pre-read for study ${req.params.study}` });
    // How many findings a job produced is derived from findings too: only for a role that sees
    // diagnostic findings, and only for a model whose output readers may see on this study.
    const snap = await readerPolicySnapshot(ctx);
    const diagnostic = !!ruleFor(snap.policy, user.role)?.kinds.includes('diagnostic');
    // AI off for the study or its modality hides the counts as it hides the findings (the same rule).
    const aiOff = aiDisabledFor(snap, req.params.study, (await ctx.facts(req.params.study))?.modality ?? s.modality);
    const hidden = (model: string) => !diagnostic || aiOff || rolloutModeOf(snap.rollout, model) !== 'assistive';
    return { ...s, jobs: s.jobs.map((j) => (hidden(j.model) ? { ...j, findingsCount: null } : j)), ...view };
  });

  app.get('/api/triage', { config: { permission: 'worklist.read' } }, async (req) => {
    const user = requireUser(req).user;
    return { studies: await triage.viewsFor(user.role), workersUp: svc.pool.up };
  });

  app.get('/api/alerts', { config: { permission: 'alerts.read' } }, async (req) => ({ alerts: await triage.alertsFor(requireUser(req).user.role) }));
  // The alert history (worklist, issue 16): acknowledged and closed ones too, newest first, through the same role view.
  app.get('/api/alerts/history', { config: { permission: 'alerts.read' } }, async (req) => ({ alerts: await triage.alertsFor(requireUser(req).user.role, { includeAcked: true, includeClosed: true }) }));

  app.post<{ Params: { id: string } }>('/api/alerts/:id/ack', { config: { permission: 'alerts.ack' } }, async (req, reply) => {
    const user = requireUser(req).user;
    if (!/^alert-[0-9a-f]{24}$/.test(req.params.id)) return reply.code(400).send({ error: 'id: not an alert id' });
    const a = await triage.ack(req.params.id, user);
    if (!a) return reply.code(404).send({ error: `no alert ${req.params.id}` });
    return { alert: a };
  });

  const WorkersBody = z.object({ running: z.boolean() }).strict();
  app.post('/api/preread/workers', { config: { permission: 'preread.control' } }, async (req, reply) => {
    const user = requireUser(req).user;
    const parsed = WorkersBody.safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: 'running: must be true or false' });
    const before = svc.pool.up;
    if (parsed.data.running) svc.startWorkers();
    else await svc.stopWorkers();
    // Stopping the AI changes what every reader gets (studies turn "AI unavailable"): who did it is on record.
    await appendAudit(db, {
      actor: user.username,
      role: user.role,
      action: parsed.data.running ? 'ai-workers-started' : 'ai-workers-stopped',
      detail: { before: { workersUp: before }, after: { workersUp: svc.pool.up } },
    });
    return { workersUp: svc.pool.up };
  });

  // Server-sent events. The stream outlives the request handler, so it is hijacked and closed on shutdown.
  const streams = new Set<FastifyReply>();
  app.addHook('preClose', async () => {
    for (const r of streams) r.raw.end();
    streams.clear();
  });

  app.get('/api/events', { config: { permission: 'worklist.read' } }, async (req, reply) => {
    const session = requireUser(req);
    const user = session.user;
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform', // PHI (triage reasons): never stored
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'cross-origin-resource-policy': 'same-origin',
      'x-content-type-options': 'nosniff',
    });
    let open = true;
    const send = (event: string, data: unknown) => {
      if (open) reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    // The stream outlives the request that was authorised: before sending, the session must still be
    // there (not logged out, expired or idle) with the same role (a role change ends the user's
    // sessions). Otherwise the stream ends, and the browser's reconnect meets the auth hook again.
    // Read without sliding the idle deadline: an open stream is not activity. Checked before every
    // event, not from a cache: a session ended a moment ago must not see one more event (one indexed
    // read per event and stream; events are study-level changes, not a firehose).
    let cleanup = () => {
      open = false;
    };
    const stillAllowed = async (): Promise<boolean> => {
      if (!open) return false;
      const row = await db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select(['sessions.expires_at', 'sessions.last_seen_at', 'sessions.idle_ms', 'users.role'])
        .where('sessions.id', '=', session.id)
        .executeTakeFirst();
      const now = Date.now();
      const ok = !!row && row.role === user.role && Date.parse(row.expires_at) > now && now - (row.last_seen_at ? Date.parse(row.last_seen_at) : 0) < (row.idle_ms ?? DEFAULT_IDLE_MS);
      if (!ok) {
        cleanup();
        reply.raw.end();
        return false;
      }
      return true;
    };
    // Events for one stream go out in the order they happened, each computed for this user's role.
    let queue = Promise.resolve();
    const later = (fn: () => Promise<void>) => {
      queue = queue.then(fn).catch((e: Error) => req.log.warn(`events: ${e.message}`));
    };
    reply.raw.write('retry: 2000\n\n');
    send('hello', { role: user.role, workersUp: svc.pool.up });
    const alerts = can(user.role, 'alerts.read');
    // The open alerts this stream's user has (from GET /api/alerts at connect, or sent here): an alert
    // that stops being visible to the role while it stays open (the role policy changed) is withdrawn
    // from this stream only, and one that becomes visible is sent.
    const shown = new Set<string>();
    if (alerts) later(async () => void (await triage.alertsFor(user.role)).forEach((a) => shown.add(a.id)));
    const onTriage = (e: LiveTriage) =>
      later(async () => {
        if (!(await stillAllowed())) return;
        const v = await e.viewFor(user.role);
        if (v) send('triage', v);
        if (!alerts) return;
        for (const a of await triage.openAlerts(e.studyUID)) {
          const mine = v?.priority === 'critical' ? await triage.alertFor(user.role, a) : null;
          if (mine && !shown.has(a.id)) {
            shown.add(a.id);
            send('alert', mine);
          } else if (!mine && shown.delete(a.id)) send('alert-closed', { id: a.id, studyUID: a.studyUID, closedAt: null, closedReason: 'policy' });
        }
      });
    const onAlert = (a: AlertEntry) =>
      later(async () => {
        if (!(await stillAllowed()) || shown.has(a.id)) return;
        const v = await triage.alertFor(user.role, a);
        if (v && !v.closedAt) {
          shown.add(a.id);
          send('alert', v);
        }
      });
    // A closed or acknowledged alert names no finding: the id, who/why, so every open panel drops it.
    const onClosed = (a: AlertEntry) =>
      later(async () => {
        if (!(await stillAllowed())) return;
        shown.delete(a.id);
        send('alert-closed', { id: a.id, studyUID: a.studyUID, closedAt: a.closedAt, closedReason: a.closedReason });
      });
    const onAck = (a: AlertEntry) =>
      later(async () => {
        if (!(await stillAllowed())) return;
        shown.delete(a.id);
        send('alert-ack', { id: a.id, studyUID: a.studyUID, ackedBy: a.ackedBy, ackedAt: a.ackedAt });
      });
    triage.live.on('triage', onTriage);
    if (alerts) {
      triage.live.on('alert', onAlert);
      triage.live.on('alert-closed', onClosed);
      triage.live.on('alert-ack', onAck);
    }
    const ping = setInterval(() => later(async () => void ((await stillAllowed()) && reply.raw.write(': ping\n\n'))), 15_000);
    streams.add(reply);
    cleanup = () => {
      open = false;
      clearInterval(ping);
      triage.live.off('triage', onTriage);
      triage.live.off('alert', onAlert);
      triage.live.off('alert-closed', onClosed);
      triage.live.off('alert-ack', onAck);
      streams.delete(reply);
    };
    req.raw.on('close', cleanup);
    reply.raw.on('close', cleanup);
  });
}
