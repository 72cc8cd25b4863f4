/** Registry, model/runtime file serving and client AI results against a real gateway (and its real Orthanc). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { DICOM, REPO_ROOT, headCtFiles } from '../../scripts/lib/demo-data.js';
import { loadHeldout } from './heldout.js';
import { inferStudy } from './runtime.js';
import type { Finding } from '../../src/core/findings/finding.js';

const HEAD = path.join(REPO_ROOT, 'models', 'head-ct-hyperdensity');
/** The registered version: results for any other are refused. */
const VERSION = (JSON.parse(fs.readFileSync(path.join(HEAD, 'manifest.json'), 'utf8')) as { version: string }).version;
let stack: Stack;
let rita: Client;
let found: Finding[];
let study: string;

beforeAll(async () => {
  // The study must be in the PACS: the server refuses AI results for a study whose facts it cannot read.
  // No pre-read here: these tests count the findings the browser's results store.
  process.env.PREREAD = '0';
  stack = await startStack({ files: headCtFiles() });
  rita = await login(stack.baseUrl, 'rita');
  const { cases } = loadHeldout(HEAD, DICOM);
  const c = cases.find((x) => x.lesions.length === 2) ?? cases[0];
  study = c.slice.studyInstanceUID;
  const r = await inferStudy({ manifestDir: HEAD, studyInstanceUID: study, slices: [c.slice], source: 'client' });
  found = r.findings;
  expect(found.length).toBeGreaterThan(0);
});
afterAll(async () => {
  await stack?.stop();
  delete process.env.PREREAD;
});

const results = (findings: unknown[], over: Record<string, unknown> = {}) => ({
  model: { name: 'head-ct-hyperdensity', version: VERSION },
  provider: 'wasm',
  timingsMs: { sessionMs: 40, inferenceMs: 25.5 },
  findings,
  ...over,
});

describe('model registry', () => {
  it('lists validated manifests to a signed-in reader, nobody else', async () => {
    const { models } = await rita.json<{ models: { name: string; modelUrl: string; validation: { sensitivity: number } }[] }>('/api/models');
    expect(models.map((m) => m.name)).toEqual(['chest-cr-nodule', 'head-ct-hyperdensity']);
    expect(models[1].modelUrl).toBe('/models/head-ct-hyperdensity/model.onnx');
    expect((await fetch(stack.baseUrl + '/api/models')).status).toBe(401);
  });

  it('serves the model file from our server, and nothing else from the folder', async () => {
    const r = await fetch(stack.baseUrl + '/models/head-ct-hyperdensity/model.onnx');
    expect(r.status).toBe(200);
    expect(Buffer.from(await r.arrayBuffer()).equals(fs.readFileSync(path.join(HEAD, 'model.onnx')))).toBe(true);
    expect(r.headers.get('cache-control')).toMatch(/max-age=/);
    const etag = r.headers.get('etag')!;
    expect((await fetch(stack.baseUrl + '/models/head-ct-hyperdensity/model.onnx', { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(stack.baseUrl + '/models/head-ct-hyperdensity/train.py')).status).toBe(404);
    expect((await fetch(stack.baseUrl + '/models/nope/model.onnx')).status).toBe(404);
  });

  it('serves onnxruntime wasm as application/wasm, immutable, cross-origin isolated', async () => {
    const r = await fetch(stack.baseUrl + '/ort/ort-wasm-simd-threaded.wasm');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/wasm');
    expect(r.headers.get('cache-control')).toContain('immutable');
    expect(r.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(new Uint8Array(await r.arrayBuffer()).slice(0, 4)).toEqual(new Uint8Array([0, 0x61, 0x73, 0x6d]));
    // An encoded slash is an ambiguous spelling: refused before routing (gateway/auth/path-guard.ts).
    expect((await fetch(stack.baseUrl + '/ort/..%2Fpackage.json')).status).toBe(400);
    expect((await fetch(stack.baseUrl + '/ort/package.json')).status).toBe(404);
  });
});

describe('client AI results', () => {
  it('stores validated findings with model, provider and timings, and audits them', async () => {
    const r = await rita.post(`/api/studies/${study}/ai-results`, results(found));
    expect(r.status).toBe(201);
    expect(await r.json()).toEqual({ stored: found.length, keptVerdicts: 0 });
    const rows = await stack.gateway.store.db.selectFrom('findings').select(['id', 'body']).where('study_uid', '=', study).execute();
    expect(rows.map((x) => x.id).sort()).toEqual(found.map((f) => f.id).sort());
    const body = JSON.parse(rows[0].body) as Finding;
    expect(body.model).toMatchObject({ name: 'head-ct-hyperdensity', version: VERSION, executionProvider: 'wasm' });
    expect(body.model.timingsMs?.inferenceMs).toBeGreaterThan(0);
    const audit = await stack.gateway.store.db.selectFrom('audit').selectAll().where('action', '=', 'ai-results-received').execute();
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0].detail!)).toMatchObject({ model: 'head-ct-hyperdensity', provider: 'wasm', stored: found.length });
    expect(audit[0].actor).toBe('rita');
  });

  it('rejects bad results naming the field, and stores none of them', async () => {
    const before = await stack.gateway.store.db.selectFrom('findings').select('id').execute();
    const bad = [{ ...found[0], id: 'new-1', confidence: 0.1 }, { ...found[0], id: 'new-2', studyInstanceUID: '1.2.3' }];
    const r = await rita.post(`/api/studies/${study}/ai-results`, results(bad));
    expect(r.status).toBe(422);
    const j = (await r.json()) as { details: string[] };
    const threshold = (JSON.parse(fs.readFileSync(path.join(HEAD, 'manifest.json'), 'utf8')) as { output: { classes: { threshold: number }[] } }).output.classes[0].threshold;
    expect(j.details).toContain(`findings.0.confidence: 0.1 is below the model's threshold ${threshold}`);
    expect(j.details.some((d) => d.startsWith('findings.1.studyInstanceUID'))).toBe(true);
    expect((await rita.post(`/api/studies/${study}/ai-results`, results(found, { provider: 'cuda' }))).status).toBe(422);
    const wrongVersion = await rita.post(`/api/studies/${study}/ai-results`, results(found, { model: { name: 'head-ct-hyperdensity', version: '0.9' } }));
    expect(wrongVersion.status).toBe(422);
    expect(((await wrongVersion.json()) as { error: string }).error).toMatch(/^model\.version/);
    expect(await stack.gateway.store.db.selectFrom('findings').select('id').execute()).toEqual(before);
  });

  it('is refused to roles that do not read with AI, and without CSRF', async () => {
    const toby = await login(stack.baseUrl, 'toby');
    expect((await toby.post(`/api/studies/${study}/ai-results`, results(found))).status).toBe(403);
    const noCsrf = await fetch(`${stack.baseUrl}/api/studies/${study}/ai-results`, { method: 'POST', headers: { cookie: rita.cookie, 'content-type': 'application/json' }, body: JSON.stringify(results(found)) });
    expect(noCsrf.status).toBe(403);
  });

  it('a re-run never overwrites a radiologist verdict', async () => {
    const f = found[0];
    const v = await rita.post(`/api/findings/${encodeURIComponent(f.id)}/verdict`, { action: 'accept' });
    expect(v.status).toBe(200);
    const r = await rita.post(`/api/studies/${study}/ai-results`, results(found));
    expect(await r.json()).toEqual({ stored: found.length - 1, keptVerdicts: 1 });
    const row = await stack.gateway.store.db.selectFrom('findings').select('status').where('id', '=', f.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('accepted');
  });
});
