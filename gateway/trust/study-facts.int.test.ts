/**
 * THE study facts (ctx.facts) are current on every call, against a real Orthanc: a study's Orthanc
 * facts are read again exactly when Orthanc's change log moved, so an unchanged worklist costs one
 * index query per request instead of a series search per study, and a series stored or a study
 * deleted is seen by the very next call. A pass-through proxy in front of Orthanc counts what is asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, type Stack } from '../../test/harness.js';
import { headerVariant } from '../../test/dicom-json.js';
import { CHEST_CR } from '../../scripts/lib/demo-data.js';
import { uploadFiles } from '../../scripts/lib/orthanc.js';
import { orthancClient } from '../orthanc/client.js';
import { orthancStudyFactsResolver } from './study-facts.js';

let stack: Stack;
let proxy: http.Server;
let proxyUrl = '';
const asked: string[] = [];
/** The PACS down: the proxy answers 502. */
let down = false;
let STUDY = '';

beforeAll(async () => {
  stack = await startStack({ files: [CHEST_CR] });
  const target = new URL(stack.orthanc.url);
  proxy = http.createServer((req, res) => {
    asked.push(`${req.method} ${req.url}`);
    if (down) return void res.writeHead(502).end();
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const found = (await (await stack.orthanc.rest('/tools/find', { method: 'POST', body: JSON.stringify({ Level: 'Study', Query: {}, Expand: true }) })).json()) as { MainDicomTags: { StudyInstanceUID: string } }[];
  STUDY = found[0].MainDicomTags.StudyInstanceUID;
}, 120_000);

afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await stack?.stop();
});

const searches = (from: number) => asked.slice(from).filter((a) => a.startsWith('POST /tools/find'));
const positions = (from: number) => asked.slice(from).filter((a) => a === 'GET /changes?last');

describe('study facts: cached per Orthanc change-log position, never stale', () => {
  it('an unchanged study is not searched again; concurrent callers share one position read; a new series is seen by the next call', async () => {
    // A long recheck: what is measured here is the change log alone.
    const facts = orthancStudyFactsResolver(orthancClient({ orthancUrl: proxyUrl, orthancUser: stack.orthanc.user, orthancPassword: stack.orthanc.password }), stack.gateway.ctx.store.db, { recheckMs: 600_000 });
    const first = await facts(STUDY);
    expect(first?.modality).toBe('CR');
    expect(first?.series).toHaveLength(1);

    let mark = asked.length;
    expect(await facts(STUDY)).toEqual(first);
    expect(searches(mark)).toEqual([]);
    expect(positions(mark)).toHaveLength(1);

    mark = asked.length;
    const many = await Promise.all(Array.from({ length: 6 }, () => facts(STUDY)));
    for (const f of many) expect(f).toEqual(first);
    expect(positions(mark)).toHaveLength(1);
    expect(searches(mark)).toEqual([]);

    // A second series of the same study (another modality) stored now: the next call has it.
    const v = headerVariant([CHEST_CR], { '(0020,000E)': `${STUDY}.77`, '(0008,0018)': `${STUDY}.77.1`, '(0008,0060)': 'DX' });
    try {
      await uploadFiles(stack.orthanc, v.files);
    } finally {
      v.cleanup();
    }
    mark = asked.length;
    const after = await facts(STUDY);
    expect(searches(mark)).toHaveLength(1);
    expect(after?.series).toHaveLength(2);
    expect(after?.modalities.sort()).toEqual(['CR', 'DX']);

  });

  it('a deletion (which Orthanc 1.10 does not log as a change) is seen within recheckMs', async () => {
    const facts = orthancStudyFactsResolver(orthancClient({ orthancUrl: proxyUrl, orthancUser: stack.orthanc.user, orthancPassword: stack.orthanc.password }), stack.gateway.ctx.store.db, { recheckMs: 800 });
    expect((await facts(STUDY))?.series?.length ?? 0).toBeGreaterThan(0);
    const position = await (await stack.orthanc.rest('/changes?last')).json();
    const studies = (await (await stack.orthanc.rest('/studies')).json()) as string[];
    const t = Date.now();
    for (const id of studies) expect((await stack.orthanc.rest(`/studies/${id}`, { method: 'DELETE' })).status).toBe(200);
    // Why the bound exists: the change log has not moved.
    expect(await (await stack.orthanc.rest('/changes?last')).json()).toMatchObject({ Last: (position as { Last: number }).Last });
    let f = await facts(STUDY);
    while (f && Date.now() - t < 3000) {
      await new Promise((r) => setTimeout(r, 100));
      f = await facts(STUDY);
    }
    expect(f).toBeNull();
    expect(Date.now() - t).toBeLessThan(800 + 500);
  });

  it('fails closed when Orthanc does not answer: null, never the facts it had', async () => {
    const v = headerVariant([CHEST_CR], { '(0020,000D)': '1.2.826.0.1.3680043.9.7777.901', '(0020,000E)': '1.2.826.0.1.3680043.9.7777.901.1', '(0008,0018)': '1.2.826.0.1.3680043.9.7777.901.1.1' });
    try {
      await uploadFiles(stack.orthanc, v.files);
    } finally {
      v.cleanup();
    }
    const facts = orthancStudyFactsResolver(orthancClient({ orthancUrl: proxyUrl, orthancUser: stack.orthanc.user, orthancPassword: stack.orthanc.password }), stack.gateway.ctx.store.db);
    expect((await facts('1.2.826.0.1.3680043.9.7777.901'))?.modality).toBe('CR');
    down = true;
    try {
      expect(await facts('1.2.826.0.1.3680043.9.7777.901')).toBeNull();
    } finally {
      down = false;
    }
    expect((await facts('1.2.826.0.1.3680043.9.7777.901'))?.modality).toBe('CR');
  });
});
