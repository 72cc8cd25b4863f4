/**
 * Pre-read routes: per-study routing and job state, the triage map the worklist merges, live
 * events (SSE), critical alerts and their acknowledgement, and the AI worker switch.
 * What a role receives is filtered here: technologists get AI state but no diagnostic content;
 * alerts go to the on-call roles only.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { requireUser } from '../auth/plugin.js';
import type { Role } from '../../src/core/auth/roles.js';
import { ALERT_ROLES, NON_DIAGNOSTIC_ROLES } from '../../src/core/triage/alerts.js';
import type { AlertEntry, PrereadService, TriageEntry } from './service.js';

const UID = /^[0-9]+(\.[0-9]+)*$/;

export type TriageView = Omit<TriageEntry, 'priority' | 'reason'> & { priority: TriageEntry['priority'] | null; reason: string | null };

export function triageFor(role: Role, e: TriageEntry): TriageView {
  return NON_DIAGNOSTIC_ROLES.includes(role) ? { ...e, priority: null, reason: null } : e;
}

export async function registerPrereadRoutes(app: FastifyInstance, svc: PrereadService): Promise<void> {
  app.get<{ Params: { study: string } }>('/api/studies/:study/preread', { config: { permission: 'study.ai-status' } }, async (req, reply) => {
    const user = requireUser(req).user;
    if (!UID.test(req.params.study)) return reply.code(400).send({ error: 'study: must be a DICOM UID (digits and dots)' });
    const s = await svc.study(req.params.study);
    if (!s) return reply.code(404).send({ error: `no pre-read for study ${req.params.study}` });
    return { ...s, ...triageFor(user.role, s) };
  });

  app.get('/api/triage', { config: { permission: 'worklist.read' } }, async (req) => {
    const user = requireUser(req).user;
    const all = await svc.triage();
    const studies: Record<string, TriageView> = {};
    for (const [k, v] of Object.entries(all)) studies[k] = triageFor(user.role, v);
    return { studies, workersUp: svc.pool.up };
  });

  app.get('/api/alerts', { config: { permission: 'alerts.read' } }, async () => ({ alerts: await svc.alerts() }));

  app.post<{ Params: { id: string } }>('/api/alerts/:id/ack', { config: { permission: 'alerts.ack' } }, async (req, reply) => {
    const user = requireUser(req).user;
    if (!/^alert-[0-9a-f]{24}$/.test(req.params.id)) return reply.code(400).send({ error: 'id: not an alert id' });
    const a = await svc.ack(req.params.id, user);
    if (!a) return reply.code(404).send({ error: `no alert ${req.params.id}` });
    return { alert: a };
  });

  const WorkersBody = z.object({ running: z.boolean() }).strict();
  app.post('/api/preread/workers', { config: { permission: 'preread.control' } }, async (req, reply) => {
    const parsed = WorkersBody.safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: 'running: must be true or false' });
    if (parsed.data.running) svc.startWorkers();
    else await svc.stopWorkers();
    return { workersUp: svc.pool.up };
  });

  // Server-sent events. The stream outlives the request handler, so it is hijacked and closed on shutdown.
  const streams = new Set<FastifyReply>();
  app.addHook('preClose', async () => {
    for (const r of streams) r.raw.end();
    streams.clear();
  });

  app.get('/api/events', { config: { permission: 'worklist.read' } }, async (req, reply) => {
    const user = requireUser(req).user;
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform', // PHI (triage reasons): never stored
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'cross-origin-resource-policy': 'same-origin',
      'x-content-type-options': 'nosniff',
    });
    const send = (event: string, data: unknown) => reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    reply.raw.write('retry: 2000\n\n');
    send('hello', { role: user.role, workersUp: svc.pool.up });
    const onTriage = (e: TriageEntry) => send('triage', triageFor(user.role, e));
    const alerts = ALERT_ROLES.includes(user.role);
    const onAlert = (a: AlertEntry) => send('alert', a);
    const onAck = (a: AlertEntry) => send('alert-ack', a);
    svc.events.on('triage', onTriage);
    if (alerts) {
      svc.events.on('alert', onAlert);
      svc.events.on('alert-ack', onAck);
    }
    const ping = setInterval(() => reply.raw.write(': ping\n\n'), 15_000);
    streams.add(reply);
    req.raw.on('close', () => {
      clearInterval(ping);
      svc.events.off('triage', onTriage);
      svc.events.off('alert', onAlert);
      svc.events.off('alert-ack', onAck);
      streams.delete(reply);
    });
  });
}
