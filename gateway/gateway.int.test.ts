import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { startStack, login, type Stack } from '../test/harness.js';
import { headCtFiles } from '../scripts/lib/demo-data.js';

let stack: Stack;
const HEAD_CT_STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';

beforeAll(async () => {
  stack = await startStack({ files: headCtFiles() });
});
afterAll(async () => stack?.stop());

describe('gateway against a real Orthanc', () => {
  it('refuses every API and DICOMweb route without a session (401)', async () => {
    for (const p of ['/dicom-web/studies', '/api/auth/me', `/api/studies/${HEAD_CT_STUDY}/findings`]) {
      const r = await fetch(stack.baseUrl + p);
      expect(r.status, p).toBe(401);
    }
  });

  it('rejects a wrong password and accepts the demo radiologist', async () => {
    const bad = await fetch(stack.baseUrl + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'rita', password: 'nope' }) });
    expect(bad.status).toBe(401);
    const c = await login(stack.baseUrl, 'rita');
    const me = await c.json<{ user: { role: string } }>('/api/auth/me');
    expect(me.user.role).toBe('radiologist');
    const setCookie = (await fetch(stack.baseUrl + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'rita', password: 'rita-demo' }) })).headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
  });

  it('proxies QIDO-RS and WADO-RS metadata', async () => {
    const c = await login(stack.baseUrl, 'rita');
    const studies = await c.json<Record<string, { Value?: unknown[] }>[]>('/dicom-web/studies', { headers: { accept: 'application/dicom+json' } });
    expect(studies.length).toBe(1);
    const uid = studies[0]['0020000D'].Value![0] as string;
    const series = await c.json<Record<string, { Value?: unknown[] }>[]>(`/dicom-web/studies/${uid}/series`);
    const seriesUID = series[0]['0020000E'].Value![0] as string;
    const meta = await c.json<unknown[]>(`/dicom-web/studies/${uid}/series/${seriesUID}/metadata`);
    expect(meta.length).toBe(28);
  });

  it('streams frames in the stored transfer syntax (no transcoding) when asked for transfer-syntax=*', async () => {
    const c = await login(stack.baseUrl, 'rita');
    const [study] = await c.json<Record<string, { Value?: string[] }>[]>('/dicom-web/studies');
    const uid = study['0020000D'].Value![0];
    const [series] = await c.json<Record<string, { Value?: string[] }>[]>(`/dicom-web/studies/${uid}/series`);
    const sUID = series['0020000E'].Value![0];
    const [inst] = await c.json<Record<string, { Value?: string[] }>[]>(`/dicom-web/studies/${uid}/series/${sUID}/instances`);
    const iUID = inst['00080018'].Value![0];
    const r = await c.fetch(`/dicom-web/studies/${uid}/series/${sUID}/instances/${iUID}/frames/1`, {
      headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/multipart\/related/);
    // Streamed: the body arrives as a stream, and its size is one 512x512 16-bit frame plus multipart framing.
    const reader = r.body!.getReader();
    let bytes = 0, chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      chunks++;
    }
    expect(bytes).toBeGreaterThan(512 * 512 * 2);
    expect(bytes).toBeLessThan(512 * 512 * 2 + 4096);
    expect(chunks).toBeGreaterThan(0);
  });

  it('refuses path traversal and non-DICOMweb paths', async () => {
    const c = await login(stack.baseUrl, 'rita');
    for (const p of ['/dicom-web/../system', '/dicom-web/studies/..%2F..%2Fsystem', '/dicom-web/tools/find', '/dicom-web/%2e%2e/patients']) {
      const r = await c.fetch(p);
      expect([400, 404], p).toContain(r.status);
      expect(await r.text()).not.toContain('ApiVersion');
    }
  });

  it('binds to loopback only', async () => {
    const addr = stack.gateway.app.server.address() as net.AddressInfo;
    expect(addr.address).toBe('127.0.0.1');
    expect(stack.gateway.config.host).toBe('127.0.0.1');
  });

  it('rejects a state-changing request without the CSRF token', async () => {
    const c = await login(stack.baseUrl, 'rita');
    const r = await fetch(stack.baseUrl + '/api/findings', { method: 'POST', headers: { cookie: c.cookie, 'content-type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(403);
  });
});
