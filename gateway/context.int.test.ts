/**
 * Two gateways built in one process share no service state (issue 13 item 9): each capability gets its
 * dependencies from its gateway's context, never from a module-global lookup. Each gateway here has its
 * own database, its own PACS (a small fake Orthanc answering what study facts ask for, under its own
 * DICOMweb root) and its own models folder; what one is told or configured must never show in the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildGateway, type Gateway } from './app.js';
import { configFromEnv } from './config.js';
import { guardAiResults, readerPolicySnapshot } from './trust/service.js';
import { adultHeadCtManifest } from './trust/testing.js';

const STUDY = '1.2.826.0.1.3680043.9.7777.501';

/** A fake Orthanc with one series of `modality`, whose metadata is served under `root` only. */
function fakeOrthanc(modality: string, root: string): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const series = `${STUDY}.1`;
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const json = (v: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
    if (req.method === 'GET' && req.url === '/changes?last') return json({ Changes: [], Done: true, Last: 0 });
    if (req.method === 'POST' && req.url === '/tools/find') return json([{ ID: 'orthanc-series-1', Instances: ['i1'], MainDicomTags: { Modality: modality, SeriesInstanceUID: series } }]);
    if (req.method === 'GET' && req.url === `${root}/studies/${STUDY}/series/${series}/metadata`) {
      return json([
        {
          '00080060': { vr: 'CS', Value: [modality] },
          '00180015': { vr: 'CS', Value: ['HEAD'] },
          '00101010': { vr: 'AS', Value: ['045Y'] },
          '0020000D': { vr: 'UI', Value: [STUDY] },
          '0020000E': { vr: 'UI', Value: [series] },
          '00080008': { vr: 'CS', Value: ['ORIGINAL', 'PRIMARY', 'AXIAL'] },
        },
      ]);
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, close: () => new Promise((r) => server.close(() => r())) })),
  );
}

let tmp = '';
const gws: Gateway[] = [];
const pacs: Awaited<ReturnType<typeof fakeOrthanc>>[] = [];
const savedEnv = { PREREAD: process.env.PREREAD, OUTBOX_WORKER: process.env.OUTBOX_WORKER };

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-two-gateways-'));
  // No background services: this is about what each gateway's parts hold, not what they do over time.
  process.env.PREREAD = '0';
  process.env.OUTBOX_WORKER = '0';
  pacs.push(await fakeOrthanc('CT', '/dicom-web'), await fakeOrthanc('MR', '/wado'));
  const withModel = path.join(tmp, 'models-a');
  fs.mkdirSync(path.join(withModel, 'adult-head-ct'), { recursive: true });
  fs.writeFileSync(path.join(withModel, 'adult-head-ct', 'manifest.json'), JSON.stringify(adultHeadCtManifest()));
  fs.writeFileSync(path.join(withModel, 'adult-head-ct', 'model.onnx'), Buffer.alloc(16));
  fs.mkdirSync(path.join(tmp, 'models-b'));
  const base = { ...configFromEnv({}), port: 0, staticDir: undefined, demo: true };
  gws.push(await buildGateway({ ...base, database: path.join(tmp, 'a.sqlite'), orthancUrl: pacs[0].url, orthancDicomWebRoot: '/dicom-web', modelsDir: withModel }));
  gws.push(await buildGateway({ ...base, database: path.join(tmp, 'b.sqlite'), orthancUrl: pacs[1].url, orthancDicomWebRoot: '/wado', modelsDir: path.join(tmp, 'models-b') }));
});

afterAll(async () => {
  for (const g of gws) await g.close().catch(() => {});
  for (const p of pacs) await p.close();
  for (const [k, v] of Object.entries(savedEnv)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('two gateways in one process', () => {
  it('have their own context and services: no part is shared', () => {
    const [a, b] = gws;
    for (const k of ['store', 'db', 'events', 'models', 'orthanc', 'facts'] as const) expect(a.ctx[k], k).not.toBe(b.ctx[k]);
    expect(a.preread).not.toBe(b.preread);
    expect(a.preread.triage).not.toBe(b.preread.triage);
    expect(a.preread.queue.pool).not.toBe(b.preread.queue.pool);
    expect(a.outbox).not.toBe(b.outbox);
  });

  it('each reads study facts from its own PACS, under its own DICOMweb root', async () => {
    const [a, b] = gws;
    expect((await a.ctx.facts(STUDY))?.modality).toBe('CT');
    expect((await b.ctx.facts(STUDY))?.modality).toBe('MR');
    expect(pacs[0].hits).toContain(`GET /dicom-web/studies/${STUDY}/series/${STUDY}.1/metadata`);
    expect(pacs[1].hits).toContain(`GET /wado/studies/${STUDY}/series/${STUDY}.1/metadata`);
    expect(pacs[1].hits.some((h) => h.includes('/dicom-web/'))).toBe(false);
  });

  it('the reader policy and the AI results guard use their own gateway\'s registry and facts', async () => {
    const [a, b] = gws;
    expect([...(await readerPolicySnapshot(a.ctx)).manifests.keys()]).toEqual(['adult-head-ct']);
    expect([...(await readerPolicySnapshot(b.ctx)).manifests.keys()]).toEqual([]);
    const manifest = a.ctx.models.manifests()[0];
    // The same model and study: an adult head CT on A's PACS, an MR on B's (outside a CT model's indication).
    expect(await guardAiResults(a.ctx, STUDY, manifest)).toEqual({ ok: true });
    const onB = await guardAiResults(b.ctx, STUDY, manifest);
    expect(onB.ok).toBe(false);
  });

  it('a domain event on one gateway never reaches the other', async () => {
    const [a, b] = gws;
    const seen: string[] = [];
    const offA = a.ctx.events.on('study-ai-changed', (e) => void seen.push(`a:${e.studyUID}`));
    const offB = b.ctx.events.on('study-ai-changed', (e) => void seen.push(`b:${e.studyUID}`));
    a.ctx.events.emit('study-ai-changed', { studyUID: STUDY, disabled: true, actor: 'test' });
    offA();
    offB();
    expect(seen).toEqual([`a:${STUDY}`]);
    await a.preread.triage.settled();
  });
});
