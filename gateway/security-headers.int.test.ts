/**
 * Security headers on every response of the real gateway (real Orthanc behind the DICOMweb proxy):
 * a Content-Security-Policy with frame-ancestors 'none' and no script escape hatch, the cross-origin
 * isolation the viewer's WASM threads need, and Cache-Control: no-store on every /api and /dicom-web
 * answer (data, errors, refusals, odd spellings), while the viewer's static files keep their caching.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, login, type Stack, type Client } from '../test/harness.js';
import { headCtFiles } from '../scripts/lib/demo-data.js';
import { CSP_DIRECTIVES, isPhiRequest } from './security-headers.js';

let stack: Stack;
let rita: Client;
let staticDir = '';

function csp(res: Response): Map<string, string[]> {
  const h = res.headers.get('content-security-policy') ?? '';
  return new Map(h.split(';').map((d) => d.trim()).filter(Boolean).map((d) => { const [k, ...v] = d.split(/\s+/); return [k, v] as [string, string[]]; }));
}

function expectSecurityHeaders(res: Response, what: string): void {
  const p = csp(res);
  expect(p.get('frame-ancestors'), what).toEqual(["'none'"]);
  expect(p.get('default-src'), what).toEqual(["'self'"]);
  expect(p.get('object-src'), what).toEqual(["'none'"]);
  const scripts = p.get('script-src') ?? [];
  expect(scripts, what).toContain("'self'");
  expect(scripts, what).toContain("'wasm-unsafe-eval'");
  expect(scripts, what).not.toContain("'unsafe-eval'");
  expect(scripts, what).not.toContain("'unsafe-inline'");
  expect(res.headers.get('cross-origin-opener-policy'), what).toBe('same-origin');
  expect(res.headers.get('cross-origin-embedder-policy'), what).toBe('require-corp');
  expect(res.headers.get('cross-origin-resource-policy'), what).toBe('same-origin');
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(res.headers.get('x-frame-options'), what).toBe('DENY');
  expect(res.headers.get('referrer-policy'), what).toBe('no-referrer');
}

beforeAll(async () => {
  // A stand-in viewer build: an index page and a hashed asset (the real build is exercised by the e2e suite).
  const { mkdtempSync } = fs;
  staticDir = mkdtempSync(path.join((await import('node:os')).tmpdir(), 'rs-static-'));
  fs.mkdirSync(path.join(staticDir, 'assets'));
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>x</title><div id=root></div>');
  fs.writeFileSync(path.join(staticDir, 'assets', 'app-abc123.js'), 'console.log(1)');
  stack = await startStack({ files: headCtFiles().slice(0, 2), staticDir });
  rita = await login(stack.baseUrl, 'rita');
});
afterAll(async () => {
  await stack?.stop();
  fs.rmSync(staticDir, { recursive: true, force: true });
});

describe('security headers', () => {
  it('every registered GET route answers with CSP, isolation headers and (under /api, /dicom-web) no-store, with and without a session', async () => {
    const seen: string[] = [];
    for (const r of stack.gateway.routes.filter((x) => x.method === 'GET')) {
      const url = r.url.replace(/:[A-Za-z_]+/g, '1').replace(/\*$/, 'studies');
      for (const [who, f] of [['anonymous', (u: string) => fetch(stack.baseUrl + u)], ['rita', (u: string) => rita.fetch(u)]] as const) {
        if (url === '/api/events' && who === 'rita') continue; // a stream that stays open; checked below
        const res = await f(url);
        await res.arrayBuffer().catch(() => {});
        const what = `${who} GET ${url} -> ${res.status}`;
        expectSecurityHeaders(res, what);
        if (/^\/(api|dicom-web)\//.test(url)) expect(res.headers.get('cache-control'), what).toBe('no-store');
        seen.push(what);
      }
    }
    expect(seen.length).toBeGreaterThan(30);
  });

  it('DICOMweb answers from the PACS are no-store (the proxy\'s data, not only its errors)', async () => {
    const res = await rita.fetch('/dicom-web/studies', { headers: { accept: 'application/dicom+json' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as unknown[]).length).toBeGreaterThan(0);
    expectSecurityHeaders(res, 'QIDO');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('refusals, misses and odd spellings of the data paths are no-store and carry the CSP too', async () => {
    for (const [u, init] of [
      ['/api/admin/users', {}],
      ['/api/nope', {}],
      ['/API/admin/users', {}],
      ['/%61pi/admin/users', {}],
      ['/dicom-web/studies', {}],
      ['/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }],
    ] as [string, RequestInit][]) {
      const res = await fetch(stack.baseUrl + u, init);
      await res.arrayBuffer();
      expectSecurityHeaders(res, u);
      expect(res.headers.get('cache-control'), u).toBe('no-store');
    }
  });

  it('the event stream is no-store', async () => {
    const ctl = new AbortController();
    const res = await rita.fetch('/api/events', { signal: ctl.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toMatch(/^no-store/);
    expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    ctl.abort();
  });

  it('the viewer\'s files carry the CSP but keep their own caching (index no-cache, hashed assets immutable)', async () => {
    const index = await fetch(stack.baseUrl + '/');
    expect(await index.text()).toContain('<div id=root>');
    expectSecurityHeaders(index, 'index');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const deep = await fetch(stack.baseUrl + '/viewer/1.2.3');
    expectSecurityHeaders(deep, 'SPA route');
    const asset = await fetch(stack.baseUrl + '/assets/app-abc123.js');
    expect(asset.status).toBe(200);
    expectSecurityHeaders(asset, 'asset');
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
  });

  it('the policy is the documented one; a PHI path is recognised in any spelling', () => {
    expect(CSP_DIRECTIVES['frame-ancestors']).toEqual(["'none'"]);
    for (const u of ['/api/x', '/API/x', '/%61pi/x', '/a%70i/x', '//api/x', '/dicom-web', '/Dicom-Web/studies', '/%zz']) expect(isPhiRequest({ url: u }), u).toBe(true);
    for (const u of ['/', '/viewer/1.2.3', '/assets/app.js', '/ort/ort-wasm-simd-threaded.wasm']) expect(isPhiRequest({ url: u }), u).toBe(false);
  });
});
