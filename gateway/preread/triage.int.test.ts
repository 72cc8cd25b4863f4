/**
 * One reader view for triage, alerts and the live stream, recomputed from domain events, against a
 * real Orthanc, real DCMTK storescu and the real pre-read (the head CT model in worker threads).
 * Every check goes through the gateway's HTTP API as each role would, plus the audit table.
 *
 *  - rejecting the only critical finding clears the flag and closes the alert (audited, live);
 *    undoing the rejection brings both back;
 *  - sign-off closes the alert and shows the study final;
 *  - AI disabled for the study / the model silent or off: no flag and no reason for ANY role, on
 *    /api/triage, /api/studies/:s/preread and SSE, alert closed; a study read while the model is
 *    silent raises no alert and pages nobody (webhook receiver);
 *  - a role whose policy hides the finding behind a flag gets neither flag nor reason on any path;
 *  - AI worker stop/start is audited with the actor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { startStack, login, waitFor as sharedWaitFor, type Stack, type Client } from '../../test/harness.js';
import { buildHeadCtStudy, cStore, type BuiltStudy } from './study-builder.js';
import { DEFAULT_POLICY } from '../../src/core/policy/policy.js';
import type { Finding } from '../../src/core/findings/finding.js';

const waitFor = <T,>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000) => sharedWaitFor(what, fn, timeoutMs, 150);

type View = { studyUID: string; priority: string | null; reason: string | null; aiState: string; status: string; signedBy: string | null };
type Ev = { event: string; data: any; at: number };

/**
 * A stream's events for one study from the first triage event after `t0` that shows the change onward.
 * A stream keeps the order events were emitted in, but one emitted just before the change (say the
 * pre-read finalising at stability) can still be read off the wire after `t0`: what must never happen
 * is a stale view after the changed one.
 */
function fromChange(events: Ev[], uid: string, t0: number, changed: (data: Record<string, unknown>) => boolean): Ev[] {
  const i = events.findIndex((e) => e.at >= t0 && e.event === 'triage' && e.data?.studyUID === uid && changed(e.data));
  return i < 0 ? [] : events.slice(i).filter((e) => e.data?.studyUID === uid);
}

/** Reads an SSE stream into an array until closed. */
function subscribe(client: Client, baseUrl: string): { events: Ev[]; ended: () => boolean; close(): void } {
  const events: Ev[] = [];
  const ac = new AbortController();
  let ended = false;
  void (async () => {
    const r = await fetch(baseUrl + '/api/events', { headers: { cookie: client.cookie }, signal: ac.signal });
    const reader = r.body!.getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return void (ended = true);
      buf += new TextDecoder().decode(value);
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev && data) events.push({ event: ev, data: JSON.parse(data), at: Date.now() });
      }
    }
  })().catch(() => {});
  return { events, ended: () => ended, close: () => ac.abort() };
}

/** The paging endpoint is not ours: a local receiver stands in for it (boundary). */
const pages: any[] = [];
/** While true the pager answers 503 (the page is not delivered and stays in the outbox). */
let pagerDown = false;
const receiver = http.createServer((req, res) => {
  let b = '';
  req.on('data', (d) => (b += d));
  req.on('end', () => {
    if (pagerDown) return void res.writeHead(503).end('down');
    pages.push(JSON.parse(b));
    res.writeHead(200).end('ok');
  });
});

let stack: Stack;
const c: Record<string, Client> = {};
const READERS = ['rita', 'remy', 'erin', 'toby', 'ada'] as const;
const built: BuiltStudy[] = [];
const peer = () => ({ port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
const db = () => stack.gateway.store.db;
const put = (client: Client, p: string, body: unknown) => client.fetch(p, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

async function triageOf(user: string, uid: string): Promise<View> {
  const t = await c[user].json<{ studies: Record<string, View> }>('/api/triage');
  return t.studies[uid];
}
async function prereadOf(user: string, uid: string): Promise<View> {
  return c[user].json<View>(`/api/studies/${uid}/preread`);
}
async function openAlerts(user: string): Promise<{ id: string; studyUID: string; reason: string }[]> {
  return (await c[user].json<{ alerts: { id: string; studyUID: string; reason: string }[] }>('/api/alerts')).alerts;
}
type AuditRow = { seq: number; detail: Record<string, unknown> & { reason?: string } };
/**
 * The study's audit records of one action, once `ready` holds for them (default: there is one). The
 * triage audits a change after committing it, so the change can be seen a moment before its record.
 */
async function audit(uid: string, action: string, ready: (rows: AuditRow[]) => boolean = (rows) => rows.length > 0): Promise<AuditRow[]> {
  const read = async () => (await db().selectFrom('audit').selectAll().where('study_uid', '=', uid).where('action', '=', action).orderBy('seq').execute()).map((a) => ({ ...a, detail: a.detail ? JSON.parse(a.detail) : null }) as AuditRow);
  await sharedWaitFor(`audit ${action}`, async () => ready(await read()) || undefined, 10_000, 50).catch(() => undefined);
  return read();
}
const lastCause = (cause: string) => (rows: AuditRow[]) => rows.at(-1)?.detail.cause === cause;
/** No path gives this role the study's flag or the finding behind it. */
async function expectNoFlagAnyRole(uid: string, why: RegExp) {
  for (const u of READERS) {
    for (const v of [await triageOf(u, uid), await prereadOf(u, uid)]) {
      expect(v.priority ?? 'none', `${u}: ${JSON.stringify(v)}`).toBe('none');
      expect(v.reason ?? '', u).not.toMatch(/ICH|hemorrhage|suspected/i);
      if (v.reason !== null) expect(v.reason, u).toMatch(why);
    }
  }
}

/** A lesion head CT through C-STORE, read by the real model: critical for the attending. */
async function criticalStudy(): Promise<string> {
  const study = await buildHeadCtStudy({ patientAge: '050Y', lesions: true });
  built.push(study);
  await cStore(study.files, peer());
  await waitFor('critical after the pre-read', async () => {
    const r = await c.rita.fetch(`/api/studies/${study.studyInstanceUID}/preread`);
    const v = r.ok ? ((await r.json()) as View) : null;
    return v?.aiState === 'done' && v.priority === 'critical';
  });
  // The study was flagged while it arrived, then got its whole result: let the recomputes and live
  // events that follows (findings superseded, the alert's reason updated) finish before a test acts.
  await stack.gateway.preread.triage.settled();
  await new Promise((r) => setTimeout(r, 500));
  return study.studyInstanceUID;
}

/** A head CT without lesions, read by the model (nothing critical), then one critical finding imported (admin). */
async function singleCriticalStudy(): Promise<{ uid: string; findingId: string }> {
  const study = await buildHeadCtStudy({ patientAge: '060Y', slices: 3 });
  built.push(study);
  const uid = study.studyInstanceUID;
  await cStore(study.files, peer());
  await waitFor('read', async () => {
    const r = await c.rita.fetch(`/api/studies/${uid}/preread`);
    return r.ok && ['done', 'failed'].includes(((await r.json()) as View).aiState);
  });
  expect((await triageOf('rita', uid)).priority).not.toBe('critical');
  const findingId = `triage-int-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
  const imp = await c.ada.post('/api/findings', {
    id: findingId,
    studyInstanceUID: uid,
    type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' },
    label: 'Intracranial hemorrhage',
    confidence: 0.97,
    severity: 'critical',
    regions: [{ image: { seriesInstanceUID: `${uid}.1`, sopInstanceUID: `${uid}.1.1` }, box: { x: 100, y: 100, width: 20, height: 20 } }],
    model: { name: 'ich-import-demo', version: '1.0.0' },
  });
  expect(imp.status, await imp.clone().text()).toBe(201);
  return { uid, findingId };
}

async function criticalFindings(uid: string): Promise<Finding[]> {
  const { findings } = await c.rita.json<{ findings: Finding[] }>(`/api/studies/${uid}/findings`);
  return findings.filter((f) => f.severity === 'critical' && f.status !== 'rejected' && f.kind !== 'quality');
}

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '200';
  process.env.PREREAD_TIMEOUT_MS = '120000';
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  process.env.ALERT_WEBHOOK_URL = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/page-oncall`;
  stack = await startStack();
  for (const u of READERS) c[u] = await login(stack.baseUrl, u);
});

afterAll(async () => {
  await stack?.stop();
  receiver.close();
  for (const s of built) s.remove();
  delete process.env.ALERT_WEBHOOK_URL;
});

describe('triage follows the findings through the reader policy, recomputed from domain events', () => {
  it('rejecting the only critical finding clears the flag and closes the alert at once (audited, live); undo brings both back', async () => {
    const rita = subscribe(c.rita, stack.baseUrl);
    const erin = subscribe(c.erin, stack.baseUrl);
    try {
      // A head CT without lesions: the model finds nothing critical. Then one critical finding is imported.
      const { uid } = await singleCriticalStudy();
      // The import is an event too: the flag and the alert follow without any job.
      await waitFor('critical after the import', async () => (await triageOf('rita', uid)).priority === 'critical');
      expect((await triageOf('rita', uid)).reason).toBe('ICH suspected, 97%');
      const alert = await waitFor('alert raised', async () => (await openAlerts('erin')).find((a) => a.studyUID === uid));
      const only = await criticalFindings(uid);
      expect(only).toHaveLength(1);

      const rej = await c.rita.post(`/api/findings/${only[0].id}/verdict`, { action: 'reject', reason: 'false-positive' });
      expect(rej.status, await rej.clone().text()).toBe(200);
      await waitFor('flag cleared', async () => (await triageOf('rita', uid)).priority !== 'critical');
      for (const u of ['rita', 'remy', 'erin']) expect((await triageOf(u, uid)).priority, u).toBe('none');
      expect((await prereadOf('rita', uid)).priority).toBe('none');
      expect((await openAlerts('erin')).some((a) => a.id === alert.id)).toBe(false);
      expect((await openAlerts('rita')).some((a) => a.id === alert.id)).toBe(false);
      const closed = await audit(uid, 'critical-alert-closed');
      expect(closed).toHaveLength(1);
      expect(closed[0].detail).toMatchObject({ alert: alert.id, reason: 'rejected', cause: 'verdict', by: 'rita' });
      const changed = await audit(uid, 'triage-changed', lastCause('verdict'));
      expect(changed.at(-1)!.detail).toMatchObject({ from: { priority: 'critical' }, to: { priority: 'none' }, cause: 'verdict', by: 'rita' });
      // Live: the attending's stream got the new triage, the ER attending's the closed alert.
      await waitFor('live triage', async () => rita.events.some((e) => e.event === 'triage' && e.data.studyUID === uid && e.data.priority === 'none'));
      await waitFor('live alert-closed', async () => erin.events.some((e) => e.event === 'alert-closed' && e.data.id === alert.id && e.data.closedReason === 'rejected'));

      // Undo: the rejection is gone, so the flag and the same alert come back (audited as reopened).
      const undo = await c.rita.post(`/api/findings/${only[0].id}/verdict`, { action: 'undo' });
      expect(undo.status, await undo.clone().text()).toBe(200);
      await waitFor('critical again', async () => (await triageOf('rita', uid)).priority === 'critical');
      await waitFor('alert open again', async () => (await openAlerts('erin')).some((a) => a.id === alert.id));
      expect(await audit(uid, 'critical-alert-reopened')).toHaveLength(1);
    } finally {
      rita.close();
      erin.close();
    }
  });

  it('a page not yet delivered when its alert closes is never sent; reopening the alert sends it once', async () => {
    pagerDown = true;
    try {
      const { uid, findingId } = await singleCriticalStudy();
      const alert = await waitFor('alert raised', async () => (await openAlerts('erin')).find((a) => a.studyUID === uid));
      const key = `webhook:${alert.id}`;
      const outboxRow = () => db().selectFrom('outbox').selectAll().where('dedupe_key', '=', key).executeTakeFirst();
      expect(await outboxRow()).toBeDefined();
      expect((await c.rita.post(`/api/findings/${findingId}/verdict`, { action: 'reject' })).status).toBe(200);
      await waitFor('page parked', async () => (await outboxRow())?.status === 'dead');
      expect((await outboxRow())!.last_error).toMatch(/^cancelled, alert closed: rejected/);
      expect((await audit(uid, 'critical-alert-closed'))[0].detail).toMatchObject({ reason: 'rejected', webhookCancelled: true });
      pagerDown = false;
      await new Promise((r) => setTimeout(r, 3000)); // several outbox passes with the pager up
      expect(pages.filter((p) => p.alertId === alert.id)).toEqual([]);

      expect((await c.rita.post(`/api/findings/${findingId}/verdict`, { action: 'undo' })).status).toBe(200);
      await waitFor('page delivered after the alert reopened', async () => pages.some((p) => p.alertId === alert.id), 60_000);
      await new Promise((r) => setTimeout(r, 1500));
      expect(pages.filter((p) => p.alertId === alert.id)).toHaveLength(1);
    } finally {
      pagerDown = false;
    }
  });

  it('a critical study read by the model: rejecting one of several critical findings keeps the flag; sign-off closes the alert and shows final', async () => {
    const uid = await criticalStudy();
    const alert = await waitFor('alert', async () => (await openAlerts('erin')).find((a) => a.studyUID === uid));
    const crit = await criticalFindings(uid);
    if (crit.length > 1) {
      expect((await c.rita.post(`/api/findings/${crit[0].id}/verdict`, { action: 'reject' })).status).toBe(200);
      // The verdict's event is emitted before the response: its recompute is queued; wait for it.
      await stack.gateway.preread.triage.settled();
      expect((await triageOf('rita', uid)).priority).toBe('critical');
      expect((await openAlerts('erin')).some((a) => a.id === alert.id)).toBe(true);
    }
    const erin = subscribe(c.erin, stack.baseUrl);
    const rita = subscribe(c.rita, stack.baseUrl);
    try {
      const so = await c.rita.post(`/api/studies/${uid}/signoff`, { confirmUnverified: true, confirmAiPending: true });
      expect(so.status, await so.clone().text()).toBe(201);
      await waitFor('final', async () => (await triageOf('rita', uid)).status === 'final');
      for (const u of READERS) {
        const v = await triageOf(u, uid);
        expect(v, u).toMatchObject({ status: 'final', signedBy: 'rita' });
        expect((await prereadOf(u, uid)).status, u).toBe('final');
      }
      expect((await openAlerts('erin')).some((a) => a.id === alert.id)).toBe(false);
      expect((await audit(uid, 'critical-alert-closed')).map((a) => a.detail.reason)).toEqual(['signed-off']);
      expect((await audit(uid, 'triage-changed', lastCause('signed-off'))).at(-1)!.detail).toMatchObject({ to: { status: 'final' }, cause: 'signed-off' });
      await waitFor('live final', async () => rita.events.some((e) => e.event === 'triage' && e.data.studyUID === uid && e.data.status === 'final'));
      await waitFor('live alert-closed', async () => erin.events.some((e) => e.event === 'alert-closed' && e.data.id === alert.id && e.data.closedReason === 'signed-off'));
    } finally {
      erin.close();
      rita.close();
    }
  });

  it('AI disabled for the study: no flag and no reason for any role (list, study, stream), alert closed; enabling brings them back', async () => {
    const uid = await criticalStudy();
    const alert = await waitFor('alert', async () => (await openAlerts('erin')).find((a) => a.studyUID === uid));
    const streams = Object.fromEntries(READERS.map((u) => [u, subscribe(c[u], stack.baseUrl)]));
    try {
      await waitFor('streams connected', async () => Object.values(streams).every((st) => st.events.some((e) => e.event === 'hello')));
      const t0 = Date.now();
      expect((await c.rita.post(`/api/studies/${uid}/ai-disabled`, { reason: 'patient-declined' })).status).toBe(201);
      await waitFor('flag gone', async () => (await triageOf('rita', uid)).priority === 'none');
      await expectNoFlagAnyRole(uid, /AI disabled for this study by rita: Patient declined/);
      for (const u of READERS) expect((await triageOf(u, uid)).aiState, u).toBe('disabled');
      // Not even how many findings the model produced.
      for (const u of READERS) expect((await c[u].json<{ jobs: { findingsCount: number | null }[] }>(`/api/studies/${uid}/preread`)).jobs.map((j) => j.findingsCount), u).toEqual([null]);
      expect((await openAlerts('erin')).some((a) => a.id === alert.id)).toBe(false);
      expect((await audit(uid, 'critical-alert-closed')).map((a) => a.detail.reason)).toEqual(['ai-disabled']);
      expect((await audit(uid, 'triage-changed', lastCause('ai-disabled'))).at(-1)!.detail).toMatchObject({ from: { priority: 'critical' }, to: { priority: 'none' }, cause: 'ai-disabled', by: 'rita' });
      const unflagged = (d: Record<string, unknown>) => (d.priority ?? 'none') === 'none';
      await waitFor('live update to every stream', async () => READERS.every((u) => fromChange(streams[u].events, uid, t0, unflagged).length > 0));
      for (const u of READERS) {
        const after = fromChange(streams[u].events, uid, t0, unflagged);
        expect(after.length, u).toBeGreaterThan(0);
        for (const e of after) expect(JSON.stringify(e.data), `${u} ${e.event}`).not.toMatch(/ICH|suspected/);
        expect(after.filter((e) => e.event === 'triage').every((e) => (e.data.priority ?? 'none') === 'none'), u).toBe(true);
      }
      await waitFor('erin told the alert closed', async () => streams.erin.events.some((e) => e.event === 'alert-closed' && e.data.id === alert.id && e.data.closedReason === 'ai-disabled'));

      expect((await c.rita.fetch(`/api/studies/${uid}/ai-disabled`, { method: 'DELETE' })).status).toBe(200);
      await waitFor('flag back', async () => (await triageOf('rita', uid)).priority === 'critical');
      await waitFor('alert open again', async () => (await openAlerts('erin')).some((a) => a.id === alert.id));
      expect((await triageOf('rita', uid)).aiState).toBe('done');
    } finally {
      for (const s of Object.values(streams)) s.close();
    }
  });

  it('the moment AI is off for a study, before its stored triage is recomputed, every view says AI disabled (never "no AI findings")', async () => {
    const uid = await criticalStudy();
    // The row the service writes, but written by hand: no domain event, so the stored triage keeps its
    // flag (what a reader can meet in the instant between the switch and the recompute).
    await db().insertInto('ai_disabled_studies').values({ study_uid: uid, reason: 'Patient declined AI analysis', disabled_by: 'rita', disabled_at: new Date().toISOString() }).execute();
    try {
      expect((await db().selectFrom('preread_studies').select('priority').where('study_uid', '=', uid).executeTakeFirstOrThrow()).priority).toBe('critical');
      await expectNoFlagAnyRole(uid, /AI disabled for this study by rita: Patient declined/);
      for (const u of READERS) {
        expect((await triageOf(u, uid)).aiState, u).toBe('disabled');
        expect((await prereadOf(u, uid)).aiState, u).toBe('disabled');
      }
      expect((await triageOf('rita', uid)).reason).toBe('AI disabled for this study by rita: Patient declined AI analysis');
    } finally {
      await db().deleteFrom('ai_disabled_studies').where('study_uid', '=', uid).execute();
    }
  });

  it('rollout silent, then off: no flag and no reason for any role, alerts closed; a study read while silent raises no alert and pages nobody; assistive brings the flag back', async () => {
    const uid = await criticalStudy();
    const alert = await waitFor('alert', async () => (await openAlerts('erin')).find((a) => a.studyUID === uid));
    const erin = subscribe(c.erin, stack.baseUrl);
    try {
      expect((await put(c.ada, '/api/admin/models/head-ct-hyperdensity/rollout', { mode: 'silent' })).status).toBe(200);
      await waitFor('flag gone (silent)', async () => (await triageOf('rita', uid)).priority === 'none');
      await expectNoFlagAnyRole(uid, /no AI findings|no finding above threshold/);
      for (const u of READERS) expect((await c[u].json<{ jobs: { findingsCount: number | null }[] }>(`/api/studies/${uid}/preread`)).jobs.map((j) => j.findingsCount), u).toEqual([null]);
      expect((await openAlerts('erin')).some((a) => a.id === alert.id)).toBe(false);
      expect((await audit(uid, 'critical-alert-closed')).map((a) => a.detail.reason)).toEqual(['rollout']);
      expect((await audit(uid, 'triage-changed', lastCause('rollout'))).at(-1)!.detail).toMatchObject({ to: { priority: 'none' }, cause: 'rollout', by: 'ada' });
      await waitFor('live alert-closed', async () => erin.events.some((e) => e.event === 'alert-closed' && e.data.id === alert.id && e.data.closedReason === 'rollout'));

      // A new critical study read while the model is silent: findings recorded, no flag, no alert, no page.
      const quiet = await buildHeadCtStudy({ patientAge: '055Y', lesions: true });
      built.push(quiet);
      const pagesBefore = pages.length;
      await cStore(quiet.files, peer());
      await waitFor('silent read done', async () => {
        const r = await c.rita.fetch(`/api/studies/${quiet.studyInstanceUID}/preread`);
        return r.ok && ((await r.json()) as View).aiState === 'done';
      });
      const stored = await db().selectFrom('findings').select('id').where('study_uid', '=', quiet.studyInstanceUID).execute();
      expect(stored.length).toBeGreaterThan(0);
      await expectNoFlagAnyRole(quiet.studyInstanceUID, /no AI findings|no finding above threshold/);
      expect(await db().selectFrom('preread_alerts').select('id').where('study_uid', '=', quiet.studyInstanceUID).execute()).toEqual([]);
      expect(await db().selectFrom('outbox').select('id').where('kind', '=', 'webhook').where('study_uid', '=', quiet.studyInstanceUID).execute()).toEqual([]);
      await new Promise((r) => setTimeout(r, 1500)); // the outbox worker would have posted by now
      expect(pages.slice(pagesBefore).filter((p) => p.studyInstanceUID === quiet.studyInstanceUID)).toEqual([]);
      expect(erin.events.some((e) => e.event === 'alert' && e.data.studyUID === quiet.studyInstanceUID)).toBe(false);

      // Off: the same.
      expect((await put(c.ada, '/api/admin/models/head-ct-hyperdensity/rollout', { mode: 'off' })).status).toBe(200);
      await stack.gateway.preread.triage.settled();
      await expectNoFlagAnyRole(uid, /no AI findings|no finding above threshold/);
      await expectNoFlagAnyRole(quiet.studyInstanceUID, /no AI findings|no finding above threshold/);

      // Assistive again: both studies are critical for readers, and the new one gets its (first) alert.
      expect((await put(c.ada, '/api/admin/models/head-ct-hyperdensity/rollout', { mode: 'assistive' })).status).toBe(200);
      await waitFor('flags back', async () => (await triageOf('rita', uid)).priority === 'critical' && (await triageOf('rita', quiet.studyInstanceUID)).priority === 'critical');
      await waitFor('alerts back', async () => {
        const open = await openAlerts('erin');
        return open.some((a) => a.id === alert.id) && open.some((a) => a.studyUID === quiet.studyInstanceUID);
      });
    } finally {
      erin.close();
      await put(c.ada, '/api/admin/models/head-ct-hyperdensity/rollout', { mode: 'assistive' });
    }
  });

  it('a role whose policy hides the finding behind the flag gets neither flag nor reason: /api/triage, /api/studies/:s/preread, SSE, alerts', async () => {
    const uid = await criticalStudy();
    // With the default policy the resident and the ER attending see the bleed.
    expect((await triageOf('remy', uid)).reason).toMatch(/^ICH suspected/);
    expect((await openAlerts('erin')).some((a) => a.studyUID === uid)).toBe(true);
    const remy = subscribe(c.remy, stack.baseUrl);
    const erin = subscribe(c.erin, stack.baseUrl);
    try {
      await waitFor('streams connected', async () => [remy, erin].every((st) => st.events.some((e) => e.event === 'hello')));
      const t0 = Date.now();
      const policy = structuredClone(DEFAULT_POLICY);
      policy.roles.resident = { ...policy.roles.resident!, minConfidence: 1 };
      policy.roles['er-attending'] = { ...policy.roles['er-attending']!, findingTypes: [{ value: '36118008', scheme: 'SCT', meaning: 'Pneumothorax' }] };
      expect((await put(c.ada, '/api/admin/policy', { policy, note: 'triage test' })).status).toBe(200);
      const unflagged = (d: Record<string, unknown>) => (d.priority ?? 'none') === 'none';
      await waitFor('remy told', async () => fromChange(remy.events, uid, t0, unflagged).length > 0);
      for (const u of ['remy', 'erin']) {
        for (const v of [await triageOf(u, uid), await prereadOf(u, uid)]) {
          expect(v.priority, u).toBe('none');
          expect(v.reason ?? '', u).not.toMatch(/ICH|suspected/);
        }
      }
      for (const e of fromChange(remy.events, uid, t0, unflagged)) expect(JSON.stringify(e.data)).not.toMatch(/ICH|suspected/);
      // The alert stays open for the radiologist (who sees the bleed), but the ER attending no longer gets it.
      expect((await openAlerts('rita')).some((a) => a.studyUID === uid)).toBe(true);
      expect((await openAlerts('erin')).some((a) => a.studyUID === uid)).toBe(false);
      const alertId = (await openAlerts('rita')).find((a) => a.studyUID === uid)!.id;
      expect((await c.erin.fetch(`/api/alerts/${alertId}/ack`, { method: 'POST' })).status).toBe(404);
      // The ER attending's open alert centre is told to drop it (it stays open for the radiologist).
      await waitFor('alert withdrawn from erin', async () => erin.events.some((e) => e.event === 'alert-closed' && e.data.id === alertId && e.data.closedReason === 'policy'));
      // The attending's view is unchanged.
      expect((await triageOf('rita', uid)).reason).toMatch(/^ICH suspected/);
      // The default policy back: the ER attending's stream gets the alert again.
      const t1 = Date.now();
      expect((await put(c.ada, '/api/admin/policy', { policy: DEFAULT_POLICY, note: 'restore' })).status).toBe(200);
      await waitFor('alert back for erin', async () => erin.events.some((e) => e.event === 'alert' && e.data.id === alertId && e.at >= t1 && /^ICH suspected/.test(e.data.reason)));
    } finally {
      remy.close();
      erin.close();
      await put(c.ada, '/api/admin/policy', { policy: DEFAULT_POLICY, note: 'restore' });
    }
  });

  it('an open stream ends when its session does (role changed): nothing more reaches it', async () => {
    const { uid, findingId } = await singleCriticalStudy();
    await waitFor('critical', async () => (await triageOf('remy', uid)).priority === 'critical');
    const remy = subscribe(c.remy, stack.baseUrl);
    try {
      await waitFor('stream open', async () => remy.events.some((e) => e.event === 'hello'));
      // An admin makes the resident a technologist: the user's sessions end.
      expect((await put(c.ada, '/api/admin/users/remy/role', { role: 'technologist' })).status).toBe(200);
      const t0 = Date.now();
      // No grace period: the session is checked before every event, so the very next one is refused.
      expect((await c.rita.post(`/api/findings/${findingId}/verdict`, { action: 'reject' })).status).toBe(200);
      expect((await c.rita.post(`/api/findings/${findingId}/verdict`, { action: 'undo' })).status).toBe(200);
      await waitFor('the stream ended', async () => remy.ended(), 20_000);
      expect(remy.events.filter((e) => e.at >= t0 && e.event !== 'hello')).toEqual([]);
      expect((await c.remy.fetch('/api/triage')).status).toBe(401);
    } finally {
      remy.close();
      await put(c.ada, '/api/admin/users/remy/role', { role: 'resident' });
      c.remy = await login(stack.baseUrl, 'remy');
    }
  });

  it('stopping and starting the AI workers is audited with who did it', async () => {
    expect((await c.ada.post('/api/preread/workers', { running: false })).status).toBe(200);
    expect((await c.ada.post('/api/preread/workers', { running: true })).status).toBe(200);
    expect((await c.rita.post('/api/preread/workers', { running: false })).status).toBe(403);
    const rows = await db().selectFrom('audit').selectAll().where('action', 'in', ['ai-workers-stopped', 'ai-workers-started']).orderBy('seq').execute();
    expect(rows.map((r) => [r.action, r.actor, r.role])).toEqual([
      ['ai-workers-stopped', 'ada', 'admin'],
      ['ai-workers-started', 'ada', 'admin'],
    ]);
    expect(JSON.parse(rows[0].detail!)).toEqual({ before: { workersUp: true }, after: { workersUp: false } });
  });
});
