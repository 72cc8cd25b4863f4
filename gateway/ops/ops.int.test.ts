/**
 * Operations against a real stack (SQLite or, with TEST_DB=postgres, PostgreSQL): /healthz and /readyz
 * (Orthanc really stopped: not ready, still alive), Prometheus metrics by route pattern with the queue
 * depths, the loopback scrape listener, and JSON logs that hold no PHI (query strings, bodies, cookies).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startStack, type Stack } from '../../test/harness.js';
import { onStudySignedOff } from '../outbox/events.js';

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
