/**
 * Operations against a real stack (SQLite or, with TEST_DB=postgres, PostgreSQL): /healthz and /readyz
 * (Orthanc really stopped: not ready, still alive), Prometheus metrics by route pattern with the queue
 * depths, the loopback scrape listener, and JSON logs that hold no PHI (query strings, bodies, cookies);
 * and, with the pre-read on, the job latency, inference time per model and version, and delivery
 * latency after a real pre-read (real model) and a real SR delivery to Orthanc.
 */
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startStack, waitFor, type Stack } from '../../test/harness.js';
import { onStudySignedOff } from '../outbox/events.js';
import { parseDicomPart10 } from '../../src/core/sr/dicom.js';
import { reviewedFindings, sampleFindings } from '../../src/core/sr/testing.js';
import { buildHeadCtStudy, cStore, type BuiltStudy } from '../preread/study-builder.js';

const STUDY = '1.2.826.0.1.3680043.8.498.14000001';
let stack: Stack;
const lines: string[] = [];
let prevPreread: string | undefined;

beforeAll(async () => {
  prevPreread = process.env.PREREAD;
  process.env.PREREAD = '0';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  // No RIS and a slow retry: the ORU stays queued, for the queue-depth gauge.
  stack = await startStack({ config: { metricsPort: 0, outbox: { baseDelayMs: 60_000, maxDelayMs: 60_000 } }, gateway: { logger: { stream } } });
});
afterAll(async () => {
  await stack?.stop();
  if (prevPreread === undefined) delete process.env.PREREAD;
  else process.env.PREREAD = prevPreread;
});

describe('operations', () => {
  it('/healthz and /readyz answer anyone, with no data', async () => {
    const h = await fetch(stack.baseUrl + '/healthz');
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ ok: true });
    const r = await fetch(stack.baseUrl + '/readyz');
    expect(r.status).toBe(200);
    const body = (await r.json()) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    expect(body.ready).toBe(true);
    expect(Object.keys(body.checks).sort()).toEqual(['database', 'orthanc']);
  });

  it('/metrics: admin only through the gateway; latency by route pattern, never the raw URL; queue depths', async () => {
    expect((await fetch(stack.baseUrl + '/metrics')).status).toBe(401);
    const rita = await login(stack.baseUrl, 'rita');
    expect((await rita.fetch('/metrics')).status).toBe(403);
    await rita.fetch(`/api/studies/${STUDY}/findings?PatientName=DOE%5EJOHN`);
    await stack.gateway.store.db.transaction().execute((trx) =>
      onStudySignedOff(trx, { studyInstanceUID: STUDY, findings: [], user: { id: 1, username: 'rita', displayName: 'Reader^Rita', role: 'radiologist' }, signedAt: '2026-12-01T10:00:00.000Z' }),
    );
    const ada = await login(stack.baseUrl, 'ada');
    const r = await ada.fetch('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/api\/studies\/:study\/findings",status_code="200"\} 1/);
    expect(text).not.toContain(STUDY);
    expect(text).not.toContain('DOE');
    const oru = [...text.matchAll(/outbox_queue_depth\{kind="hl7-oru",status="(\w+)"\} (\d+)/g)].reduce((s, m) => s + Number(m[2]), 0);
    expect(oru).toBe(1);
    expect(text).toMatch(/preread_queue_depth\{state="pending"\} 0/);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
  });

  it('the scrape listener serves GET /metrics on loopback without a log-in, and nothing else', async () => {
    const port = stack.gateway.metricsPort!;
    expect(port).toBeGreaterThan(0);
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('http_request_duration_seconds_bucket');
    expect((await fetch(`http://127.0.0.1:${port}/api/admin/users`)).status).toBe(404);
  });

  it('logs are JSON lines with method, route and path only: no query string, no body, no cookie', async () => {
    await fetch(stack.baseUrl + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'rita', password: 'wrong-Secret-77' }) });
    const rita = await login(stack.baseUrl, 'rita');
    await rita.fetch('/api/studies?PatientName=DOE%5EJOHN&PatientID=MRN-55501');
    const parsed = lines.map((l) => JSON.parse(l) as { msg?: string; req?: { method: string; path: string; route?: string } });
    const incoming = parsed.filter((l) => l.req);
    expect(incoming.some((l) => l.req!.path === `/api/studies/${STUDY}/findings` && l.req!.route === '/api/studies/:study/findings')).toBe(true);
    expect(incoming.some((l) => l.req!.path === '/api/auth/login' && l.req!.method === 'POST')).toBe(true);
    const all = lines.join('\n');
    for (const phi of ['DOE', 'MRN-55501', 'PatientName', 'wrong-Secret-77', 'rita-demo', rita.cookie.split('=')[1]]) expect(all).not.toContain(phi);
  });

  it('/readyz says 503 naming Orthanc when it is down, while /healthz stays 200', async () => {
    await stack.orthanc.stop();
    const r = await fetch(stack.baseUrl + '/readyz');
    expect(r.status).toBe(503);
    const body = (await r.json()) as { ready: boolean; checks: Record<string, { ok: boolean; error?: string }> };
    expect(body.ready).toBe(false);
    expect(body.checks.database.ok).toBe(true);
    expect(body.checks.orthanc.ok).toBe(false);
    expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|password/);
    expect((await fetch(stack.baseUrl + '/healthz')).status).toBe(200);
  });
});

describe('metrics after a pre-read and a delivery', () => {
  let st: Stack;
  let study: BuiltStudy;
  beforeAll(async () => {
    // The file's other stack runs with PREREAD=0 (set above for the whole file); this one reads.
    const saved = { PREREAD: process.env.PREREAD, PREREAD_POLL_MS: process.env.PREREAD_POLL_MS };
    delete process.env.PREREAD;
    process.env.PREREAD_POLL_MS = '200';
    try {
      st = await startStack({ config: { metricsPort: 0 } });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
  afterAll(async () => {
    await st?.stop();
    study?.remove();
  });

  it('job latency, inference time per model and version, and delivery latency have values', async () => {
    study = await buildHeadCtStudy({ slices: 2 });
    await cStore(study.files, { port: st.orthanc.dicomPort, aet: st.orthanc.aet });
    const db = st.gateway.store.db;
    const job = await waitFor(
      'the pre-read job done',
      async () => (await db.selectFrom('preread_jobs').selectAll().where('study_uid', '=', study.studyInstanceUID).where('state', '=', 'done').executeTakeFirst()) ?? null,
      120_000,
      250,
    );
    // A sign-off of the study: its verified SR goes to Orthanc through the outbox (no RIS: the ORU waits).
    await db.transaction().execute((trx) =>
      onStudySignedOff(trx, {
        studyInstanceUID: study.studyInstanceUID,
        findings: reviewedFindings(sampleFindings(parseDicomPart10(fs.readFileSync(study.files[0])))),
        user: { id: 1, username: 'rita', displayName: 'Reader^Rita', role: 'radiologist' },
        signedAt: '2026-12-01T10:00:00.000Z',
      }),
    );
    st.gateway.outbox.kick();
    await waitFor('the SR acknowledged', async () => (await db.selectFrom('outbox').select('status').where('kind', '=', 'sr-stow').executeTakeFirst())?.status === 'acknowledged', 30_000, 100);
    const text = await (await fetch(`http://127.0.0.1:${st.gateway.metricsPort!}/metrics`)).text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    // Job latency: the one job, arrival to result, as the jobs table has it.
    expect(value(/^preread_job_seconds_count (\d+)$/m)).toBe(1);
    const jobSeconds = (Date.parse(job.finished_at!) - Date.parse(job.created_at)) / 1000;
    expect(value(/^preread_job_seconds_sum ([\d.e-]+)$/m)).toBeCloseTo(jobSeconds, 3);
    // Inference: one request per read the queue made, labelled with the manifest's name and version.
    const { version } = JSON.parse(fs.readFileSync('models/head-ct-hyperdensity/manifest.json', 'utf8')) as { version: string };
    const labels = `model="head-ct-hyperdensity",version="${version}"`;
    expect(text).toContain(`preread_inference_seconds_count{${labels}}`);
    expect(value(new RegExp(`^preread_inference_seconds_count\\{${labels.replace(/\./g, '\\.')}\\} (\\d+)$`, 'm'))).toBeGreaterThanOrEqual(1);
    expect(value(new RegExp(`^preread_inference_seconds_sum\\{${labels.replace(/\./g, '\\.')}\\} ([\\d.e-]+)$`, 'm'))).toBeGreaterThan(0);
    // Delivery: the SR, enqueue to acknowledgement.
    expect(value(/^outbox_delivery_seconds_count\{kind="sr-stow"\} (\d+)$/m)).toBe(1);
    expect(value(/^outbox_delivery_seconds_sum\{kind="sr-stow"\} ([\d.e-]+)$/m)).toBeGreaterThan(0);
    // A second scrape observes nothing twice.
    const again = await (await fetch(`http://127.0.0.1:${st.gateway.metricsPort!}/metrics`)).text();
    expect(/^preread_job_seconds_count (\d+)$/m.exec(again)?.[1]).toBe('1');
  });
});
