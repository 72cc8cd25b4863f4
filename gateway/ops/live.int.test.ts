/**
 * Live events across two gateways on one PostgreSQL (LISTEN/NOTIFY): a triage change and an alert on
 * gateway A reach gateway B's live feed (which its SSE streams follow) once, and are not echoed back
 * to A; and over two real SSE streams (GET /api/events), a reader connected to gateway B receives the
 * triage change and the alert that a radiologist's finding recorded through gateway A's HTTP API caused.
 * Runs in the PostgreSQL pass (TEST_DB=postgres); on SQLite there is one process and nothing to mirror.
 * The last block ("in progress, live") runs on both: one gateway on SQLite, a worklist on a second on PostgreSQL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startStack, TEST_DIALECT, waitFor, type Client, type Stack } from '../../test/harness.js';
import { HEAD_CT_DIR } from '../../scripts/lib/demo-data.js';
import { parseDicomPart10 } from '../../src/core/sr/dicom.js';
import { buildGateway, type Gateway } from '../app.js';
import type { AlertEntry, LiveTriage } from '../preread/triage.js';

let stack: Stack;
let b: Gateway;

describe.runIf(TEST_DIALECT === 'postgres')('live events on every gateway', () => {
  beforeAll(async () => {
    stack = await startStack();
    b = await buildGateway({ ...stack.gateway.config });
  });
  afterAll(async () => {
    await b?.close().catch(() => {});
    await stack?.stop();
  });

  it('a triage change and alert events on A reach B once, and are not echoed back to A', async () => {
    const a = stack.gateway;
    const seen = { a: [] as string[], b: [] as string[] };
    a.preread.triage.live.on('triage', (e: LiveTriage) => seen.a.push(`triage ${e.studyUID}`));
    b.preread.triage.live.on('triage', (e: LiveTriage) => seen.b.push(`triage ${e.studyUID}`));
    for (const ev of ['alert', 'alert-closed', 'alert-ack']) {
      a.preread.triage.live.on(ev, (x: AlertEntry) => seen.a.push(`${ev} ${x.id}`));
      b.preread.triage.live.on(ev, (x: AlertEntry) => seen.b.push(`${ev} ${x.id}`));
    }
    a.preread.triage.notify('1.2.3.4.5');
    const alert: AlertEntry = { id: 'alert-x1', studyUID: '1.2.3.4.5', priority: 'critical', reason: 'test', createdAt: '2026-12-01T10:00:00.000Z', ackedBy: null, ackedAt: null, closedAt: null, closedReason: null, url: '/?study=1.2.3.4.5' };
    let received: unknown = null;
    b.preread.triage.live.once('alert', (x: AlertEntry) => (received = x));
    a.preread.triage.live.emit('alert', alert);
    const bAck = { ...alert, ackedBy: 'rita', ackedAt: '2026-12-01T10:01:00.000Z' };
    b.preread.triage.live.emit('alert-ack', bAck);
    await waitFor('B heard A, A heard B', async () => seen.b.length >= 3 && seen.a.length >= 3, 5000, 50);
    // A moment more: an echo or a duplicate would arrive now.
    await new Promise((r) => setTimeout(r, 500));
    expect(received).toEqual(alert);
    // B: A's triage change and alert (each once) and its own ack; A: its own two and B's ack (once), no echo.
    expect([...seen.b].sort()).toEqual(['alert alert-x1', 'alert-ack alert-x1', 'triage 1.2.3.4.5']);
    expect([...seen.a].sort()).toEqual(['alert alert-x1', 'alert-ack alert-x1', 'triage 1.2.3.4.5']);
  });
});

type Ev = { event: string; data: { studyUID?: string; priority?: string | null; id?: string } };

/** Reads GET /api/events into an array until closed. */
function stream(baseUrl: string, cookie: string): { events: Ev[]; close(): void } {
  const events: Ev[] = [];
  const ac = new AbortController();
  void (async () => {
    const r = await fetch(baseUrl + '/api/events', { headers: { cookie }, signal: ac.signal });
    const reader = r.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev && data) events.push({ event: ev, data: JSON.parse(data) as Ev['data'] });
      }
    }
  })().catch(() => {});
  return { events, close: () => ac.abort() };
}

/**
 * Waits until no triage event for the study has reached these streams for half a second (5 s at most):
 * what the admission set going (its change, relayed between gateways by LISTEN/NOTIFY) may still be on
 * its way when a stream opens, and is not what these tests count.
 */
async function quiet(streams: { events: Ev[] }[], studyUID: string): Promise<void> {
  const seen = () => streams.map((s) => s.events.filter((e) => e.event === 'triage' && e.data.studyUID === studyUID).length).join();
  for (let i = 0, last = seen(); i < 10; i++) {
    await new Promise((res) => setTimeout(res, 500));
    if (seen() === last) return;
    last = seen();
  }
}

describe.runIf(TEST_DIALECT === 'postgres')('SSE on two gateways, over HTTP', () => {
  const FILE = path.join(HEAD_CT_DIR, '07.dcm');
  const SRC = parseDicomPart10(fs.readFileSync(FILE));
  const STUDY = String(SRC.StudyInstanceUID);
  let st: Stack;
  let gb: Gateway;
  let bUrl: string;
  let rita: Client;
  let prev: string | undefined;
  beforeAll(async () => {
    // The study is admitted by the change feed (it needs a triage row); no inference, so the only later
    // triage change is the one this test causes on A.
    prev = process.env.PREREAD_WORKERS;
    process.env.PREREAD_WORKERS = '0';
    st = await startStack({ files: [FILE] });
    gb = await buildGateway({ ...st.gateway.config });
    await gb.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = gb.app.server.address();
    bUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    rita = await login(st.baseUrl, 'rita');
  });
  afterAll(async () => {
    await gb?.close().catch(() => {});
    await st?.stop();
    if (prev === undefined) delete process.env.PREREAD_WORKERS;
    else process.env.PREREAD_WORKERS = prev;
  });

  it('a critical AI finding imported on A reaches a reader streaming from B (triage and alert, once each)', async () => {
    const db = st.gateway.store.db;
    await waitFor('the study admitted', async () => !!(await db.selectFrom('preread_studies').select('study_uid').where('study_uid', '=', STUDY).executeTakeFirst()), 30_000, 100);
    await Promise.all([st.gateway.preread.triage.settled(), gb.preread.triage.settled()]);
    // One log-in (on A); the session is in the shared database, so B's stream accepts the same cookie.
    const onB = stream(bUrl, rita.cookie);
    const onA = stream(st.baseUrl, rita.cookie);
    await waitFor('both streams open', async () => onB.events.some((e) => e.event === 'hello') && onA.events.some((e) => e.event === 'hello'), 10_000, 50);
    await quiet([onA, onB], STUDY);
    // An AI result imported through A's API (the one ingestion path): a critical finding flags the study.
    const r = await rita.post('/api/findings', {
      id: `live-int-${Date.now()}`,
      studyInstanceUID: STUDY,
      type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' },
      label: 'Intracranial hemorrhage',
      confidence: 0.97,
      severity: 'critical',
      regions: [{ image: { seriesInstanceUID: String(SRC.SeriesInstanceUID), sopInstanceUID: String(SRC.SOPInstanceUID) }, box: { x: 200, y: 180, width: 40, height: 30 } }],
      model: { name: 'ich-import-demo', version: '1.0.0' },
    });
    expect(r.status, await r.clone().text()).toBe(201);
    const mine = (s: { events: Ev[] }, ev: string) => s.events.filter((e) => e.event === ev && e.data.studyUID === STUDY);
    await waitFor(
      'B streamed what A streamed: the triage changes and the alert',
      async () => mine(onA, 'alert').length > 0 && mine(onB, 'alert').length > 0 && mine(onB, 'triage').length >= mine(onA, 'triage').length,
      15_000,
      50,
    );
    await new Promise((res) => setTimeout(res, 700)); // a duplicate or an echo would arrive now
    onA.close();
    onB.close();
    // B heard it through LISTEN/NOTIFY (B's own event bus never saw the finding); A, where it happened, directly.
    // The reader on B saw the same triage changes as the reader on A (one per change A published: the
    // recompute and the alert it raised), no more (no echo, no duplicate), and the one alert.
    // Events from before the import may still reach a stream after it opened: the admission's own change,
    // or the queue's timed AI-state change ("arriving" to settled), relayed from whichever gateway leads the
    // feed. Their view is computed when written, so they read "routine" until the import commits. They are
    // not what this test is about (and failed it once in CI): count from the first critical view on.
    const priorities = (s: { events: Ev[] }) => {
      const all = mine(s, 'triage').map((e) => e.data.priority);
      const first = all.indexOf('critical');
      return first < 0 ? [] : all.slice(first);
    };
    expect(priorities(onA).length).toBeGreaterThan(0);
    expect(priorities(onA).every((p) => p === 'critical')).toBe(true);
    expect(priorities(onB)).toEqual(priorities(onA));
    for (const s of [onA, onB]) expect(mine(s, 'alert')).toHaveLength(1);
    expect(mine(onB, 'alert')[0].data.id).toBe(mine(onA, 'alert')[0].data.id);
  });
});

describe('in progress, live', () => {
  const FILE = path.join(HEAD_CT_DIR, '09.dcm');
  const STUDY = String(parseDicomPart10(fs.readFileSync(FILE)).StudyInstanceUID);
  let st: Stack;
  let gb: Gateway | null = null;
  let bUrl: string;
  let prev: string | undefined;
  beforeAll(async () => {
    prev = process.env.PREREAD_WORKERS;
    process.env.PREREAD_WORKERS = '0'; // admitted by the change feed, never read: no other triage change
    st = await startStack({ files: [FILE] });
    bUrl = st.baseUrl;
    if (TEST_DIALECT === 'postgres') {
      // The worklist streams from a second gateway; the reader opens the study on the first.
      gb = await buildGateway({ ...st.gateway.config });
      await gb.app.listen({ host: '127.0.0.1', port: 0 });
      const addr = gb.app.server.address();
      bUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    }
  });
  afterAll(async () => {
    await gb?.close().catch(() => {});
    await st?.stop();
    if (prev === undefined) delete process.env.PREREAD_WORKERS;
    else process.env.PREREAD_WORKERS = prev;
  });

  it("a reader's first open of a study reaches every worklist's stream at once (once), and the study is in progress there", async () => {
    const db = st.gateway.store.db;
    await waitFor('the study admitted', async () => !!(await db.selectFrom('preread_studies').select('study_uid').where('study_uid', '=', STUDY).executeTakeFirst()), 30_000, 100);
    await st.gateway.preread.triage.settled();
    const [rita, remy] = await Promise.all([login(st.baseUrl, 'rita'), login(st.baseUrl, 'remy')]);
    const worklist = stream(bUrl, rita.cookie);
    await waitFor('the stream open', async () => worklist.events.some((e) => e.event === 'hello'), 10_000, 50);
    await quiet([worklist], STUDY);
    const before = worklist.events.filter((e) => e.event === 'triage' && e.data.studyUID === STUDY).length;
    const mine = () => worklist.events.filter((e) => e.event === 'triage' && e.data.studyUID === STUDY).slice(before);
    expect(mine()).toHaveLength(0);
    const inProgress = async () => ((await rita.json('/api/reports/in-progress')) as { studies: { studyUID: string; by: string }[] }).studies.find((x) => x.studyUID === STUDY);
    expect(await inProgress()).toBeUndefined();
    // Remy opens it (the viewer fetches its findings): Rita's worklist hears of it without a refresh.
    expect((await remy.fetch(`/api/studies/${STUDY}/findings`)).status).toBe(200);
    await waitFor("the open on Rita's stream", async () => mine().length > 0, 10_000, 50);
    expect((await inProgress())?.by).toBe('remy');
    // A re-read of the same findings (the viewer refreshing) is not news: no second event.
    expect((await remy.fetch(`/api/studies/${STUDY}/findings`)).status).toBe(200);
    await new Promise((res) => setTimeout(res, 700));
    worklist.close();
    expect(mine()).toHaveLength(1);
  });
});
