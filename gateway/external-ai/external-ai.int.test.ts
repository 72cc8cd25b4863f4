/**
 * The external AI round trip (issue 17 item 7) against a real Orthanc and the real gateway, with a fake
 * remote endpoint (an HTTP server in this test: the boundary we do not own) that captures every byte it
 * is sent. A study with patient identity in it (copies of real head CT slices, dcmodify) is sent to a
 * remote model of the registry:
 *  - the study is sent by itself when it arrives (the remote model's indication covers it);
 *  - the endpoint is down at first (503): the job stays in the outbox and is retried, nothing is lost;
 *  - what the endpoint received: every instance of the study, de-identified: tag by tag over the
 *    generated PS3.15 table nothing X/Z/D/U keeps its value, no patient identifier, no original UID,
 *    no private attribute, one study / series / frame-of-reference UID across the instances;
 *  - its JSON result (boxes on its de-identified instances) lands on the ORIGINAL study, on the
 *    original image, through the one ingestion path, stamped with the model by the server, and a
 *    radiologist sees it in GET findings;
 *  - an image flagged Burned In Annotation (in a second study) never leaves, and that is audited; that
 *    study's result comes back as a DICOM SR (TID 1500) and lands the same way;
 *  - export and result are audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { startStack, login, waitFor, type Stack, type Client } from '../../test/harness.js';
import { headCtFiles, REPO_ROOT } from '../../scripts/lib/demo-data.js';
import { copyStudy } from '../trust/testing.js';
import { PS315_TABLE } from '../../src/core/deid/table.js';
import { readDataset, str } from '../../src/core/deid/part10.js';
import type { DicomDict } from '../../src/core/deid/deidentify.js';
import { FindingSchema, type Finding } from '../../src/core/findings/finding.js';
import { dcmjs, writeDicomPart10 } from '../../src/core/sr/dicom.js';
import { buildMeasurementReport, studyFromDataset } from '../../src/core/sr/writer.js';

const STUDY = '1.2.826.0.1.3680043.9.4245.1718.1';
const BURNED = '1.2.826.0.1.3680043.9.4245.1718.2';
const PHI = { name: 'Roe^Richard', id: 'PHI-55555', birth: '19600202', accession: 'ACC-424242', institution: 'General Example Infirmary' };
const ICH = { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' };

let stack: Stack;
let tmp = '';
let files: string[] = [];
let burnedFiles: string[] = [];
const c: Record<string, Client> = {};

/** The fake remote AI: STOW-RS in (captured), JSON results out for what it was sent; answers 503 while `down`. */
const endpoint = {
  down: true,
  stows: [] as { contentType: string; parts: Buffer[] }[],
  refused: 0,
  server: null as http.Server | null,
  url: '',
};

function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const parts: Buffer[] = [];
  const delim = Buffer.from(`--${boundary}`);
  let i = body.indexOf(delim);
  while (i >= 0) {
    const next = body.indexOf(delim, i + delim.length);
    if (next < 0) break;
    const chunk = body.subarray(i + delim.length, next);
    const head = chunk.indexOf('\r\n\r\n');
    if (head >= 0) parts.push(chunk.subarray(head + 4, chunk.length - 2));
    i = next;
  }
  return parts;
}

async function startEndpoint(): Promise<void> {
  endpoint.server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      if (endpoint.down) {
        endpoint.refused++;
        res.writeHead(503).end();
        return;
      }
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && req.url === '/ai/studies') {
        const ct = String(req.headers['content-type']);
        const boundary = /boundary=([^;]+)/.exec(ct)![1];
        endpoint.stows.push({ contentType: ct, parts: splitMultipart(body, boundary) });
        res.writeHead(200, { 'content-type': 'application/dicom+json' }).end('{}');
        return;
      }
      const m = /^\/ai\/results\/([0-9.]+)$/.exec(req.url ?? '');
      if (req.method === 'GET' && m) {
        const stow = [...endpoint.stows].reverse().find((x) => str(readDataset(x.parts[0]).dict, '0020000D') === m[1]);
        if (!stow) return void res.writeHead(404).end();
        const mine = stow.parts.map((p) => readDataset(p).dict);
        // A study it got one instance of is answered with a DICOM SR (TID 1500, the project's writer), the other as JSON.
        if (mine.length === 1) {
          res.writeHead(200, { 'content-type': 'application/dicom' }).end(Buffer.from(srAnswer(mine[0])));
          return;
        }
        // One finding on the second instance it received, one below threshold, one on an instance it never got.
        const target = mine[1] ?? mine[0];
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            studyInstanceUID: m[1],
            findings: [
              { sopInstanceUID: str(target, '00080018'), code: ICH, confidence: 0.91, box: { x: 200, y: 150, width: 40, height: 30 } },
              { sopInstanceUID: str(target, '00080018'), code: ICH, confidence: 0.1, box: { x: 10, y: 10, width: 5, height: 5 } },
              { sopInstanceUID: '2.25.1', code: ICH, confidence: 0.99, box: { x: 1, y: 1, width: 5, height: 5 } },
            ],
          }),
        );
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => endpoint.server!.listen(0, '127.0.0.1', r));
  const a = endpoint.server.address() as { port: number };
  endpoint.url = `http://127.0.0.1:${a.port}/ai`;
}

const errorsOf = (file: string) => {
  let text: string;
  try {
    text = execFileSync('dciodvfy', [file], { stdio: 'pipe' }).toString();
  } catch (e) {
    text = String((e as { stdout?: Buffer }).stdout ?? '') + String((e as { stderr?: Buffer }).stderr ?? '');
  }
  return new Set(text.split('\n').filter((l) => l.startsWith('Error')).map((l) => l.replace(/<[0-9.]+>/g, '<uid>')));
};
/** The endpoint's SR answer: one box on the instance it got, written in its (de-identified) UID space. */
function srAnswer(d: DicomDict): Uint8Array {
  const nat = dcmjs.data.DicomMetaDictionary.naturalizeDataset(d);
  const image = { seriesInstanceUID: str(d, '0020000E'), sopInstanceUID: str(d, '00080018'), sopClassUID: str(d, '00080016') };
  const f = FindingSchema.parse({ id: 'vendor-1', studyInstanceUID: str(d, '0020000D'), type: ICH, label: 'ICH', confidence: 0.8, severity: 'critical', regions: [{ image, box: { x: 33, y: 44, width: 12, height: 10 } }], model: { name: 'vendor', version: '9' }, source: 'sr', status: 'ai-unverified', createdAt: new Date().toISOString() });
  return writeDicomPart10(buildMeasurementReport({ kind: 'ai', findings: [f], study: studyFromDataset(nat), model: f.model, sopInstanceUID: `${image.seriesInstanceUID}.77`, seriesInstanceUID: `${image.seriesInstanceUID}.7`, contentDateTime: new Date().toISOString() }));
}

/** What the endpoint got for the main study (three instances; the burned-in study sends one). */
const mainStows = () => endpoint.stows.filter((x) => x.parts.length === 3);
const pixels = (d: DicomDict) => Buffer.from((d['7FE00010'].Value as ArrayBuffer[])[0]).toString('base64');

beforeAll(async () => {
  tmp = fs.mkdtempSync('/tmp/extai-int-');
  files = copyStudy(headCtFiles().slice(10, 13), path.join(tmp, 'study'), STUDY, { '(0010,0010)': PHI.name, '(0010,0020)': PHI.id, '(0010,0030)': PHI.birth, '(0008,0050)': PHI.accession, '(0008,0080)': PHI.institution, '(0010,1010)': '054Y' });
  // A second study: two slices, one flagged Burned In Annotation (it must not leave).
  burnedFiles = copyStudy(headCtFiles().slice(14, 16), path.join(tmp, 'burned'), BURNED, { '(0010,0010)': PHI.name, '(0010,1010)': '054Y', '(0028,0301)': 'NO' });
  execFileSync('dcmodify', ['-nb', '-m', '(0028,0301)=YES', burnedFiles[0]]);
  await startEndpoint();
  // A remote model: the demo head CT manifest (its indication, domain and classes), run elsewhere.
  const modelsDir = path.join(tmp, 'models');
  const m = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'models/head-ct-hyperdensity/manifest.json'), 'utf8'));
  m.name = 'remote-ct';
  m.version = '2.0-remote';
  m.runtime = { kind: 'remote', url: endpoint.url };
  m.files = { model: 'remote.onnx' };
  fs.mkdirSync(path.join(modelsDir, 'remote-ct'), { recursive: true });
  fs.writeFileSync(path.join(modelsDir, 'remote-ct/manifest.json'), JSON.stringify(m));
  stack = await startStack({ files: [...files, ...burnedFiles], config: { modelsDir, outbox: { baseDelayMs: 200, maxDelayMs: 400, pollMs: 100 } } });
  for (const u of ['rita', 'toby', 'gus']) c[u] = await login(stack.baseUrl, u);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  endpoint.server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('external AI endpoint', () => {
  it('is registered from the manifest and refused to roles that may not send studies out', async () => {
    expect(stack.gateway.ctx.models.get('remote-ct')?.manifest.runtime).toMatchObject({ kind: 'remote', url: endpoint.url });
    // Never run by the local pre-read: it has no model file.
    expect(stack.gateway.ctx.models.list().map((x) => x.manifest.name)).not.toContain('remote-ct');
    expect((await c.toby.post(`/api/studies/${STUDY}/external-ai/remote-ct`, {})).status).toBe(403);
    expect((await c.gus.post(`/api/studies/${STUDY}/external-ai/remote-ct`, {})).status).toBe(403);
    expect((await c.rita.post(`/api/studies/${STUDY}/external-ai/no-such-model`, {})).status).toBe(404);
  });

  it('sends an arriving study by itself; an endpoint outage is retried from the outbox, nothing lost', async () => {
    const db = stack.gateway.store.db;
    const job = () => db.selectFrom('outbox').selectAll().where('kind', '=', 'external-ai').where('study_uid', '=', STUDY).orderBy('id').executeTakeFirst();
    await waitFor('a failed attempt while the endpoint is down', async () => endpoint.refused > 0 && (await job())?.status === 'failed', 60_000);
    endpoint.down = false;
    const row = await waitFor('the job delivered after the outage', async () => {
      const x = await job();
      return x?.status === 'acknowledged' ? x : null;
    }, 30_000);
    expect(row.attempts).toBeGreaterThanOrEqual(2);
    expect(row.dedupe_key).toMatch(new RegExp(`^external-ai:remote-ct:${STUDY.replace(/\./g, '\\.')}:`));
    expect(mainStows()).toHaveLength(1);
    expect(mainStows()[0].contentType).toMatch(/^multipart\/related; type="application\/dicom"; boundary=/);
    const asked = await db.selectFrom('audit').select(['actor', 'detail']).where('action', '=', 'external-ai-requested').where('study_uid', '=', STUDY).execute();
    expect(asked.map((a) => [a.actor, JSON.parse(a.detail!).trigger])).toEqual([['external-ai', 'arrival']]);
  });

  it('sent every instance de-identified: tag by tag over the table, no PHI, no original UID, no private tag', () => {
    const originals = files.map((f) => readDataset(fs.readFileSync(f)).dict);
    const byPixels = new Map(originals.map((d) => [pixels(d), d]));
    const originalUids = new Set(originals.flatMap((d) => ['0020000D', '0020000E', '00080018', '00200052'].map((t) => str(d, t))));
    const parts = mainStows()[0].parts;
    expect(parts).toHaveLength(files.length);
    let compared = 0;
    for (const p of parts) {
      for (const s of [PHI.name, PHI.id, PHI.birth, PHI.accession, PHI.institution, ...originalUids]) expect(p.includes(Buffer.from(s)), `sent bytes contain ${s}`).toBe(false);
      const d = readDataset(p).dict;
      const orig = byPixels.get(pixels(d))!;
      expect(orig).toBeDefined();
      for (const rule of PS315_TABLE.rules) {
        const before = orig[rule.tag];
        if (!before?.Value?.some((v) => v !== '' && v != null) || !['X', 'Z', 'D', 'U'].includes(rule.action)) continue;
        compared++;
        const after = d[rule.tag];
        expect(after && JSON.stringify(after.Value) === JSON.stringify(before.Value), `${rule.keyword} (${rule.basicProfile}) sent with its original value`).toBeFalsy();
      }
      expect(Object.keys(d).filter((t) => parseInt(t.slice(0, 4), 16) % 2 === 1)).toEqual([]);
      expect(str(d, '00120062')).toBe('YES');
    }
    expect(compared).toBeGreaterThan(20);
    const sent = parts.map((p) => readDataset(p).dict);
    for (const t of ['0020000D', '0020000E', '00200052']) expect(new Set(sent.map((d) => str(d, t))).size, t).toBe(1);
    expect(new Set(sent.map((d) => str(d, '00080018'))).size).toBe(files.length);
    // What the endpoint got is as valid as what the PACS holds: dciodvfy finds no error the original did not have.
    parts.forEach((p, i) => {
      const out = path.join(tmp, `sent-${i}.dcm`);
      fs.writeFileSync(out, p);
      const orig = files.find((f) => pixels(readDataset(fs.readFileSync(f)).dict) === pixels(readDataset(p).dict))!;
      const before = errorsOf(orig);
      expect([...errorsOf(out)].filter((e) => !before.has(e)), `instance ${i}`).toEqual([]);
    });
  });

  it('lands the result on the original study and image, stamped with the model, visible to a radiologist', async () => {
    const { findings } = await c.rita.json<{ findings: Finding[] }>(`/api/studies/${STUDY}/findings`);
    const mine = findings.filter((f) => f.model.name === 'remote-ct');
    // One above threshold on an instance that was sent; the low one and the unknown instance are not taken.
    expect(mine).toHaveLength(1);
    const f = mine[0];
    expect(f).toMatchObject({ studyInstanceUID: STUDY, source: 'preread', status: 'ai-unverified', severity: 'critical', model: { name: 'remote-ct', version: '2.0-remote' } });
    // The image the endpoint marked (its second instance) is, by its pixels, the original the finding names.
    const target = readDataset(mainStows()[0].parts[1]).dict;
    const original = files.map((x) => readDataset(fs.readFileSync(x)).dict).find((d) => pixels(d) === pixels(target))!;
    expect(f.regions[0].image).toMatchObject({ sopInstanceUID: str(original, '00080018'), seriesInstanceUID: str(original, '0020000E') });
    expect(f.regions[0].box).toEqual({ x: 200, y: 150, width: 40, height: 30 });
  });

  it('can be sent again by a radiologist: a new UID map, the same findings, nothing duplicated', async () => {
    const r = await c.rita.post(`/api/studies/${STUDY}/external-ai/remote-ct`, {});
    expect(r.status).toBe(202);
    const { job } = (await r.json()) as { job: number };
    const db = stack.gateway.store.db;
    await waitFor('the second job delivered', async () => (await db.selectFrom('outbox').select('status').where('id', '=', job).executeTakeFirst())?.status === 'acknowledged', 30_000);
    expect(mainStows()).toHaveLength(2);
    const uidsOf = (i: number) => mainStows()[i].parts.map((p) => str(readDataset(p).dict, '0020000D'))[0];
    expect(uidsOf(1)).not.toBe(uidsOf(0));
    const { findings } = await c.rita.json<{ findings: Finding[] }>(`/api/studies/${STUDY}/findings`);
    expect(findings.filter((f) => f.model.name === 'remote-ct')).toHaveLength(1);
    const last = await db.selectFrom('audit').select('detail').where('action', '=', 'external-ai-results').where('study_uid', '=', STUDY).orderBy('seq', 'desc').executeTakeFirst();
    expect(JSON.parse(last!.detail!)).toMatchObject({ stored: 0, unchanged: 1 });
  });

  it('never sends an image flagged Burned In Annotation: the study goes without it, the refusal is audited; an SR answer is read', async () => {
    const db = stack.gateway.store.db;
    await waitFor('the burned-in study delivered', async () => (await db.selectFrom('outbox').select('status').where('kind', '=', 'external-ai').where('study_uid', '=', BURNED).executeTakeFirst())?.status === 'acknowledged', 30_000);
    const flagged = pixels(readDataset(fs.readFileSync(burnedFiles[0])).dict);
    const clean = pixels(readDataset(fs.readFileSync(burnedFiles[1])).dict);
    const sent = endpoint.stows.filter((x) => x.parts.length !== 3).flatMap((x) => x.parts.map((p) => pixels(readDataset(p).dict)));
    expect(sent).toEqual([clean]);
    expect(sent).not.toContain(flagged);
    const a = await db.selectFrom('audit').select('detail').where('action', '=', 'external-ai-export').where('study_uid', '=', BURNED).executeTakeFirstOrThrow();
    expect(JSON.parse(a.detail!)).toMatchObject({ instances: 1, refused: { burnedInAnnotation: 1, unreadable: 0 } });
    // Its result came back as a DICOM SR: read, re-identified, on the original study and the slice that was sent.
    const { findings } = await c.rita.json<{ findings: Finding[] }>(`/api/studies/${BURNED}/findings`);
    const got = findings.filter((f) => f.model.name === 'remote-ct');
    expect(got).toHaveLength(1);
    expect(got[0].regions[0]).toMatchObject({ image: { sopInstanceUID: str(readDataset(fs.readFileSync(burnedFiles[1])).dict, '00080018') }, box: { x: 33, y: 44, width: 12, height: 10 } });
    expect(got[0]).toMatchObject({ studyInstanceUID: BURNED, confidence: 0.8, model: { name: 'remote-ct', version: '2.0-remote' } });
  });

  it('audits the export and the return', async () => {
    const rows = await stack.gateway.store.db.selectFrom('audit').selectAll().where('action', 'in', ['external-ai-requested', 'external-ai-export', 'external-ai-results', 'external-ai-delivered']).orderBy('seq').execute();
    const actions = rows.map((r) => r.action);
    expect(actions).toContain('external-ai-requested');
    const exports = rows.filter((r) => r.action === 'external-ai-export' && r.study_uid === STUDY);
    expect(exports.at(-1)!.study_uid).toBe(STUDY);
    expect(JSON.parse(exports.at(-1)!.detail!)).toMatchObject({ model: 'remote-ct', instances: 3, status: 200, host: new URL(endpoint.url).host });
    expect(JSON.parse(rows.find((r) => r.action === 'external-ai-results' && r.study_uid === STUDY)!.detail!)).toMatchObject({ received: 3, stored: 1, refused: 2 });
    for (const r of rows) expect(r.detail ?? '').not.toContain(PHI.name);
  });
});
