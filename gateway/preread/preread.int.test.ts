/**
 * Pre-read on arrival against a real Orthanc, real DCMTK storescu, the real model runtime in real
 * worker threads. Studies are built from the shared head CT slices with new UIDs (dcmodify); the
 * "critical" one carries the head CT model's committed held-out synthetic lesions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { whileAuditRefused } from '../../test/audit-refused.js';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { DICOM } from '../../scripts/lib/demo-data.js';
import { buildHeadCtStudy, cStore, newUid } from './study-builder.js';
import { handleInbound } from '../mllp/listener.js';
import { findingsForStudy } from '../findings/repository.js';
import { prioritise, DEFAULT_TRIAGE_RULES } from '../../src/core/triage/triage.js';
import type { StudyPreread } from './service.js';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import { waitFor as sharedWaitFor } from '../../test/harness.js';

const run = promisify(execFile);

const waitFor = <T,>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 90_000, everyMs = 200) =>
  sharedWaitFor(what, fn, timeoutMs, everyMs);

/** Reads an SSE stream into an array of {event, data} until closed. */
function subscribe(client: Client, baseUrl: string): { events: { event: string; data: any }[]; close(): void } {
  const events: { event: string; data: any }[] = [];
  const ac = new AbortController();
  void (async () => {
    const r = await fetch(baseUrl + '/api/events', { headers: { cookie: client.cookie }, signal: ac.signal });
    const reader = r.body!.getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += new TextDecoder().decode(value);
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
      }
    }
  })().catch(() => {});
  return { events, close: () => ac.abort() };
}

/** The team-chat/paging endpoint: not ours, so a local receiver stands in for it (boundary). */
const webhookPosts: { headers: http.IncomingHttpHeaders; body: any }[] = [];
const receiver = http.createServer((req, res) => {
  let b = '';
  req.on('data', (d) => (b += d));
  req.on('end', () => {
    webhookPosts.push({ headers: req.headers, body: JSON.parse(b) });
    res.writeHead(200).end('ok');
  });
});

let stack: Stack;
let rita: Client, erin: Client, toby: Client, ada: Client;
const peer = () => ({ port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
const studyState = (uid: string) => rita.fetch(`/api/studies/${uid}/preread`).then(async (r) => (r.ok ? ((await r.json()) as StudyPreread) : null));

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '200';
  process.env.PREREAD_TIMEOUT_MS = '120000';
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  process.env.ALERT_WEBHOOK_URL = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/page-oncall`;
  stack = await startStack();
  [rita, erin, toby, ada] = await Promise.all(['rita', 'erin', 'toby', 'ada'].map((u) => login(stack.baseUrl, u)));
});

afterAll(async () => {
  await stack?.stop();
  receiver.close();
  delete process.env.ALERT_WEBHOOK_URL;
});

describe('pre-read on arrival', () => {
  it('C-STORE of an adult head CT → model runs, findings stored, job done, priority set, alert to the on-call role only', async () => {
    const erinEvents = subscribe(erin, stack.baseUrl);
    const tobyEvents = subscribe(toby, stack.baseUrl);
    const ritaEvents = subscribe(rita, stack.baseUrl);
    const study = await buildHeadCtStudy({ patientAge: '045Y', lesions: true });
    try {
      await cStore(study.files, peer());
      const s = await waitFor('job done', async () => {
        const st = await studyState(study.studyInstanceUID);
        return st && st.aiState === 'done' ? st : null;
      });
      expect(s.routing.find((r) => r.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'run' });
      expect(s.routing.find((r) => r.model === 'chest-cr-nodule')).toMatchObject({ decision: 'skip' });
      expect(s.routing.find((r) => r.model === 'chest-cr-nodule')!.reason).toMatch(/outside indication: modality CT/);
      expect(s.jobs).toHaveLength(1);
      expect(s.jobs[0]).toMatchObject({ model: 'head-ct-hyperdensity', state: 'done', attempts: 0 });
      expect(s.instanceCount).toBe(28);
      const stored = (await findingsForStudy(stack.gateway.store.db, study.studyInstanceUID)).filter((f) => f.source === 'preread');
      expect(stored.length).toBe(s.jobs[0].findingsCount);
      expect(stored.length).toBeGreaterThan(0);
      // The stored priority is the rule applied to the stored findings.
      const expected = prioritise(stored, DEFAULT_TRIAGE_RULES, stack.gateway.preread.catalog.thresholds());
      expect({ priority: s.priority, reason: s.reason }).toEqual({ priority: expected.priority, reason: expected.reason });
      expect(s.priority).toBe('critical');
      expect(s.reason).toMatch(/^ICH suspected, \d+%$/);

      const triage = await rita.json<{ studies: Record<string, { priority: string; aiState: string; reason: string; arrivedAt: string }> }>('/api/triage');
      expect(triage.studies[study.studyInstanceUID]).toMatchObject({ priority: 'critical', aiState: 'done' });

      // Live: the worklist's stream got the flag; the ER attending got the alert; the technologist got neither flag nor alert.
      await waitFor('alert event', async () => erinEvents.events.some((e) => e.event === 'alert' && e.data.studyUID === study.studyInstanceUID));
      const alert = erinEvents.events.find((e) => e.event === 'alert')!.data;
      expect(alert).toMatchObject({ studyUID: study.studyInstanceUID, priority: 'critical', url: `/viewer/${study.studyInstanceUID}` });
      // The alert was raised by the first critical slice read while the images arrived; the open alert
      // says what the study's whole result says.
      expect(alert.reason).toMatch(/^ICH suspected, \d+%$/);
      const alerts = await erin.json<{ alerts: { id: string; reason: string }[] }>('/api/alerts');
      expect(alerts.alerts.find((a) => a.id === alert.id)?.reason).toBe(s.reason);
      expect(ritaEvents.events.some((e) => e.event === 'triage' && e.data.studyUID === study.studyInstanceUID && e.data.priority === 'critical')).toBe(true);
      expect(tobyEvents.events.some((e) => e.event === 'alert')).toBe(false);
      const tobyTriage = tobyEvents.events.filter((e) => e.event === 'triage' && e.data.studyUID === study.studyInstanceUID);
      expect(tobyTriage.length).toBeGreaterThan(0);
      expect(tobyTriage.every((e) => e.data.priority === null && e.data.reason === null)).toBe(true);
      const tobyList = await toby.json<{ studies: Record<string, { priority: unknown; reason: unknown; aiState: string }> }>('/api/triage');
      expect(tobyList.studies[study.studyInstanceUID]).toMatchObject({ priority: null, reason: null, aiState: 'done' });
      expect((await toby.fetch('/api/alerts')).status).toBe(403);

      // The webhook got the alert through the outbox: study and finding, no patient identifiers.
      const post = await waitFor('webhook post', async () => webhookPosts.find((p) => p.body.alertId === alert.id));
      // The page went out with the alert, when the first critical slice was read: it says what the alert
      // said when raised (the audit's record of the raise). The live alert is worded when it is sent, so
      // it may already carry the whole result's figure.
      const raised = await stack.gateway.store.db.selectFrom('audit').select('detail').where('action', '=', 'critical-alert-raised').where('study_uid', '=', study.studyInstanceUID).executeTakeFirstOrThrow();
      const raise = JSON.parse(raised.detail!) as { alert: string; reason: string };
      expect(raise.alert).toBe(alert.id);
      expect(post.body).toMatchObject({ type: 'critical-finding', studyInstanceUID: study.studyInstanceUID, finding: raise.reason, priority: 'critical' });
      expect(post.body.finding).toMatch(/^ICH suspected, \d+%$/);
      const pid = /\[(.*)\]/.exec((await run('dcmdump', ['+P', '0010,0020', study.files[0]])).stdout)![1];
      expect(JSON.stringify(post.body)).not.toContain(pid);

      // The unverified AI SR goes back into the study (outbox → STOW-RS): Orthanc reports the study
      // changed and stable again, and that starts no second pre-read.
      await waitFor('AI SR stored in the study', async () => {
        const r = (await (await stack.orthanc.rest(`/tools/find`, { method: 'POST', body: JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: study.studyInstanceUID, Modality: 'SR' } }) })).json()) as string[];
        return r.length > 0;
      });
      await new Promise((r) => setTimeout(r, 3000)); // StableAge 1 s + a few feed polls
      expect((await studyState(study.studyInstanceUID))!.jobs).toHaveLength(1);

      // Acknowledge: recorded in the audit trail, once.
      expect((await toby.fetch(`/api/alerts/${alert.id}/ack`, { method: 'POST' })).status).toBe(403);
      // The acknowledgement commits with its audit record: with the audit refusing records, it is not kept.
      await whileAuditRefused(stack.gateway.store.db, async () => {
        expect((await erin.fetch(`/api/alerts/${alert.id}/ack`, { method: 'POST' })).status).toBe(500);
      });
      expect((await stack.gateway.store.db.selectFrom('preread_alerts').select('acked_at').where('id', '=', alert.id).executeTakeFirstOrThrow()).acked_at).toBeNull();
      const ack = await erin.fetch(`/api/alerts/${alert.id}/ack`, { method: 'POST' });
      expect(ack.status).toBe(200);
      expect((await ack.json()).alert).toMatchObject({ ackedBy: 'erin' });
      await erin.fetch(`/api/alerts/${alert.id}/ack`, { method: 'POST' });
      const audit = await stack.gateway.store.db.selectFrom('audit').selectAll().where('study_uid', '=', study.studyInstanceUID).execute();
      expect(audit.filter((a) => a.action === 'critical-alert-acknowledged' && a.actor === 'erin')).toHaveLength(1);
      expect(audit.filter((a) => a.action === 'preread-inference-started')).toHaveLength(1);
      expect(audit.filter((a) => a.action === 'preread-inference-finished')).toHaveLength(1);
      expect((await erin.json<{ alerts: unknown[] }>('/api/alerts')).alerts.some((a: any) => a.id === alert.id)).toBe(false);
    } finally {
      erinEvents.close();
      tobyEvents.close();
      ritaEvents.close();
      study.remove();
    }
  });

  it('a paediatric study is skipped with the reason, visible per study', async () => {
    const study = await buildHeadCtStudy({ patientAge: '009Y', slices: 4 });
    try {
      await cStore(study.files, peer());
      const s = await waitFor('routing', () => studyState(study.studyInstanceUID));
      expect(s.aiState).toBe('skipped');
      expect(s.jobs).toHaveLength(0);
      expect(s.routing.find((r) => r.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'skip', reason: 'outside indication: age 9 < 18' });
      expect(s.reason).toContain('outside indication: age 9 < 18');
      expect(s.priority).toBe('none');
    } finally {
      study.remove();
    }
  });

  it('our own SR (sent by STOW-RS) does not start another pre-read; new images later are read again, once', async () => {
    const study = await buildHeadCtStudy({ patientAge: '060Y', slices: 6 });
    const more = await buildHeadCtStudy({ patientAge: '060Y', slices: 8, studyInstanceUID: study.studyInstanceUID });
    const srDir = fs.mkdtempSync(path.join(stack.tmp, 'sr-'));
    try {
      await cStore(study.files, peer());
      const first = await waitFor('first read', async () => {
        const st = await studyState(study.studyInstanceUID);
        return st && (st.aiState === 'done' || st.aiState === 'failed') ? st : null;
      });
      expect(first.jobs).toHaveLength(1);
      const cursorAfterFirst = await stack.gateway.store.db.selectFrom('preread_cursor').select('last_seq').executeTakeFirstOrThrow();

      // An SR of ours into the study (the shared pydicom SR, re-identified into this study), by STOW-RS.
      const sr = path.join(srDir, 'sr.dcm');
      fs.copyFileSync(path.join(DICOM, 'pydicom', 'test_files', 'test-SR.dcm'), sr);
      const pid = /\[(.*)\]/.exec((await run('dcmdump', ['+P', '0010,0020', study.files[0]])).stdout)![1];
      await run('dcmodify', ['-nb', '-gin', '-m', `(0010,0020)=${pid}`, '-m', `(0020,000d)=${study.studyInstanceUID}`, '-m', `(0020,000e)=${newUid()}`, '-i', '(0008,0070)=Reading Station Demo', sr]);
      const boundary = 'rs-boundary';
      const body = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), fs.readFileSync(sr), Buffer.from(`\r\n--${boundary}--\r\n`)]);
      const stow = await stack.orthanc.rest('/dicom-web/studies', { method: 'POST', body, headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' } });
      expect(stow.status).toBe(200);
      // Orthanc reports the study changed and stable again; the cursor moves past it, no new job.
      await waitFor('cursor past the SR', async () => {
        const c = await stack.gateway.store.db.selectFrom('preread_cursor').select('last_seq').executeTakeFirstOrThrow();
        const stable = (await (await stack.orthanc.rest(`/changes?since=${cursorAfterFirst.last_seq}&limit=1000`)).json()) as { Changes: { ChangeType: string; Seq: number }[] };
        const st = stable.Changes.filter((ch) => ch.ChangeType === 'StableStudy');
        return st.length > 0 && c.last_seq >= st[st.length - 1].Seq;
      });
      const afterSr = await studyState(study.studyInstanceUID);
      expect(afterSr!.jobs).toHaveLength(1);
      expect(afterSr!.fingerprint).toBe(first.fingerprint);

      // Two more slices of the same study arrive later: read again, once.
      await cStore(more.files.slice(6), peer());
      const second = await waitFor('second read', async () => {
        const st = await studyState(study.studyInstanceUID);
        return st && st.jobs.length === 2 && st.jobs.every((j) => j.state === 'done' || j.state === 'failed') ? st : null;
      });
      expect(second.instanceCount).toBe(8);
      expect(second.fingerprint).not.toBe(first.fingerprint);
      await new Promise((r) => setTimeout(r, 2500));
      expect((await studyState(study.studyInstanceUID))!.jobs).toHaveLength(2);
    } finally {
      study.remove();
      more.remove();
    }
  });

  it('AI down: the study is unflagged, marked unavailable and readable; when AI is back the flag appears', async () => {
    expect((await rita.fetch('/api/preread/workers', { method: 'POST', body: JSON.stringify({ running: false }), headers: { 'content-type': 'application/json' } })).status).toBe(403);
    const down = await ada.post('/api/preread/workers', { running: false });
    expect(await down.json()).toEqual({ workersUp: false });
    const study = await buildHeadCtStudy({ patientAge: '070Y', lesions: true });
    try {
      await cStore(study.files, peer());
      const s = await waitFor('unavailable', async () => {
        const st = await studyState(study.studyInstanceUID);
        // Unavailable from the first instance on (reads wait for workers); the job comes at stability.
        return st && st.aiState === 'unavailable' && st.jobs.length ? st : null;
      });
      expect(s.priority).toBe('none');
      expect(s.jobs[0].state).toBe('pending');
      // Readable as usual through the gateway's DICOMweb.
      const qido = await rita.fetch(`/dicom-web/studies?StudyInstanceUID=${study.studyInstanceUID}`);
      expect(qido.status).toBe(200);
      expect(((await qido.json()) as unknown[]).length).toBe(1);
      const up = await ada.post('/api/preread/workers', { running: true });
      expect(await up.json()).toEqual({ workersUp: true });
      const done = await waitFor('flag after AI is back', async () => {
        const st = await studyState(study.studyInstanceUID);
        return st && st.aiState === 'done' ? st : null;
      });
      expect(done.priority).toBe('critical');
      expect(done.jobs).toHaveLength(1);
    } finally {
      study.remove();
    }
  });

  it("routing reads the HL7 order's clinical indication: a contraindication named there skips the model", async () => {
    const accession = `ACC${Date.now()}`;
    const obr = Array.from({ length: 32 }, () => '');
    Object.assign(obr, { 0: 'OBR', 1: '1', 2: 'PLC1', 4: 'CTHEAD^CT head without contrast^L', 18: accession, 31: '^Follow-up, post-operative head' });
    const orm = [
      'MSH|^~\\&|RIS|HOSP|RS|RS|20261125103000||ORM^O01|MSG' + accession + '|P|2.5.1',
      'PID|1||PID123^^^HOSP||Doe^John',
      'ORC|NW|PLC1|||||||20261125103000',
      obr.join('|'),
    ].join('\r');
    const ack = await handleInbound(stack.gateway.store.db, orm, null);
    expect(ack.code).toBe('AA');
    const study = await buildHeadCtStudy({ patientAge: '070Y', slices: 3, accessionNumber: accession });
    try {
      await cStore(study.files, peer());
      const s = await waitFor('routing', () => studyState(study.studyInstanceUID));
      expect(s.routing.find((r) => r.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'skip', reason: 'contraindicated by order: post-operative head' });
      expect(s.aiState).toBe('skipped');
    } finally {
      study.remove();
    }
  });

  it('rejects bad input naming the field', async () => {
    expect((await rita.fetch('/api/studies/not-a-uid/preread')).status).toBe(400);
    expect((await rita.fetch('/api/studies/1.2.3.999/preread')).status).toBe(404);
    const bad = await ada.post('/api/preread/workers', { running: 'yes' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/^running:/);
    expect((await erin.fetch('/api/alerts/alert-zzz/ack', { method: 'POST' })).status).toBe(400);
  });
});
