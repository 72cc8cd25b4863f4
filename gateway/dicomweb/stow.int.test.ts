/**
 * STOW-RS, the Host header and the PHI-read audit through the gateway's DICOMweb proxy, against a real
 * Orthanc with real files from ../shared/data:
 * - only roles with `dicomweb.store` store (the others 403, nothing reaches the PACS);
 * - the answer is Orthanc's own: 200 with the stored SOP, 409 with the failed SOP, 400 for a part that is
 *   not DICOM; never 502 for an instance that was stored (the old proxy aborted its own request);
 * - 415 for a body that is not multipart/related; type="application/dicom";
 * - the client's Host header never reaches a URL Orthanc writes (RetrieveURL, BulkDataURI);
 * - retrieves and the opening stream are audited as 'phi-read', once per (session, study, kind).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { buildGateway, type Gateway } from '../app.js';
import { configFromEnv } from '../config.js';
import { ROLES, type Role } from '../../src/core/auth/roles.js';
import { can } from '../../src/core/auth/permissions.js';
import { CHEST_CR, headCtFiles, mrSeriesFiles } from '../../scripts/lib/demo-data.js';

const HEAD_CT_STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const USER_OF: Record<Role, string> = { radiologist: 'rita', resident: 'remy', 'er-attending': 'erin', technologist: 'toby', admin: 'ada', 'ai-governance': 'gus' };
type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;
let stack: Stack;
const clients = {} as Record<Role, Client>;

function multipart(parts: Uint8Array[], boundary = `b-${Math.random().toString(36).slice(2)}`): { body: Uint8Array<ArrayBuffer>; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), Buffer.from(p), Buffer.from('\r\n'));
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: new Uint8Array(Buffer.concat(chunks)), contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

async function instancesInPacs(): Promise<number> {
  const r = await fetch(stack.orthanc.url + '/statistics', { headers: { authorization: 'Basic ' + Buffer.from(`${stack.orthanc.user}:${stack.orthanc.password}`).toString('base64') } });
  return ((await r.json()) as { CountInstances: number }).CountInstances;
}

const sopsIn = (seq: unknown): string[] => ((seq as DicomJson[] | undefined) ?? []).map((i) => i['00081155'].Value![0] as string);

function raw(method: string, pathname: string, headers: Record<string, string>, body?: Uint8Array): Promise<{ status: number; text: string }> {
  const { port } = new URL(stack.baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: Number(port), method, path: pathname, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body ? Buffer.from(body) : undefined);
  });
}

beforeAll(async () => {
  stack = await startStack({ files: headCtFiles().slice(0, 2) });
  for (const role of ROLES) clients[role] = await login(stack.baseUrl, USER_OF[role]);
});
afterAll(async () => stack?.stop());

describe('STOW-RS through the gateway', () => {
  it('a radiologist stores an instance: 200 with Orthanc’s answer naming the stored SOP, and it is in the PACS', async () => {
    const before = await instancesInPacs();
    const { body, contentType } = multipart([fs.readFileSync(CHEST_CR)]);
    const r = await clients.radiologist.fetch('/dicom-web/studies', { method: 'POST', headers: { 'content-type': contentType, accept: 'application/dicom+json' }, body });
    const text = await r.text();
    expect(r.status, text.slice(0, 200)).toBe(200);
    const answer = JSON.parse(text) as DicomJson;
    const stored = sopsIn(answer['00081199']?.Value);
    expect(stored).toHaveLength(1);
    expect(answer['00081198']?.Value ?? []).toEqual([]);
    expect(await instancesInPacs()).toBe(before + 1);
    // And it can be read back through the proxy.
    const found = await clients.radiologist.json<DicomJson[]>(`/dicom-web/instances?SOPInstanceUID=${stored[0]}`);
    expect(found).toHaveLength(1);
  });

  it('every role without dicomweb.store is refused (403) and nothing reaches the PACS', async () => {
    const denied = ROLES.filter((r) => !can(r, 'dicomweb.store'));
    expect(denied.length).toBeGreaterThanOrEqual(4);
    const before = await instancesInPacs();
    const { body, contentType } = multipart([fs.readFileSync(mrSeriesFiles()[0])]);
    for (const role of denied) {
      for (const url of ['/dicom-web/studies', `/dicom-web/studies/${HEAD_CT_STUDY}`]) {
        const r = await clients[role].fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
        expect(r.status, `${role} POST ${url}`).toBe(403);
      }
    }
    const anon = await fetch(stack.baseUrl + '/dicom-web/studies', { method: 'POST', headers: { 'content-type': contentType }, body });
    expect(anon.status).toBe(401);
    expect(await instancesInPacs()).toBe(before);
  });

  it('409 with the failed SOP for an instance that does not belong to the study in the URL', async () => {
    const file = fs.readFileSync(mrSeriesFiles()[1]);
    const { body, contentType } = multipart([file]);
    const before = await instancesInPacs();
    const r = await clients.radiologist.fetch(`/dicom-web/studies/${HEAD_CT_STUDY}`, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/dicom+json' }, body });
    expect(r.status).toBe(409);
    const answer = (await r.json()) as DicomJson;
    const failed = (answer['00081198']?.Value ?? []) as DicomJson[];
    expect(failed).toHaveLength(1);
    expect(failed[0]['00081155'].Value![0]).toMatch(/^[0-9.]+$/);
    expect(failed[0]['00081197']?.Value?.[0]).toBeGreaterThan(0); // the failure reason
    expect(await instancesInPacs()).toBe(before);
  });

  it('a part that is not DICOM gets Orthanc’s own refusal, not 502', async () => {
    const { body, contentType } = multipart([Buffer.from('this is not a DICOM file')]);
    const r = await clients.radiologist.fetch('/dicom-web/studies', { method: 'POST', headers: { 'content-type': contentType, accept: 'application/dicom+json' }, body });
    expect(r.status).toBe(400);
    const answer = (await r.json()) as DicomJson;
    expect(answer).toHaveProperty('00081199'); // a STOW-RS response body, from Orthanc
  });

  it('415 for a body that is not multipart/related; type="application/dicom", and nothing is stored', async () => {
    const before = await instancesInPacs();
    const file = new Uint8Array(fs.readFileSync(mrSeriesFiles()[2]));
    const cases: [string, Uint8Array<ArrayBuffer> | string][] = [
      ['application/dicom', file],
      ['multipart/related; type="application/dicom+json"; boundary=x', '--x\r\n\r\n{}\r\n--x--'],
      ['multipart/related; type="application/dicom"', file], // no boundary
      ['text/plain', 'hello'],
      ['application/json', '{}'],
      ['application/octet-stream', file],
    ];
    for (const [ct, body] of cases) {
      const r = await clients.radiologist.fetch('/dicom-web/studies', { method: 'POST', headers: { 'content-type': ct }, body });
      expect(r.status, ct).toBe(415);
    }
    expect(await instancesInPacs()).toBe(before);
  });
});

describe('the Host header is never reflected into URLs', () => {
  it('RetrieveURL in a STOW answer names this listener, not the Host the client sent', async () => {
    const { body, contentType } = multipart([fs.readFileSync(mrSeriesFiles()[3])]);
    const c = clients.radiologist;
    const r = await raw('POST', '/dicom-web/studies', { host: 'evil.example', cookie: c.cookie, 'x-csrf-token': c.csrf, 'content-type': contentType, accept: 'application/dicom+json' }, body);
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('evil.example');
    const answer = JSON.parse(r.text) as DicomJson;
    const url = answer['00081190']?.Value?.[0] as string;
    expect(url.startsWith(`${stack.baseUrl}/dicom-web/studies/`), url).toBe(true);
  });

  it('BulkDataURIs in metadata name the configured public origin, whatever Host says', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-host-'));
    let gw: Gateway | undefined;
    try {
      gw = await buildGateway({ ...configFromEnv({}), orthancUrl: stack.orthanc.url, orthancUser: stack.orthanc.user, orthancPassword: stack.orthanc.password, staticDir: undefined, demo: true, database: path.join(tmp, 'g.sqlite'), publicOrigin: 'https://reading.example.org' });
      const loginRes = await gw.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'rita', password: 'rita-demo' } });
      const cookie = String(loginRes.headers['set-cookie']).split(';')[0];
      const r = await gw.app.inject({ url: `/dicom-web/studies/${HEAD_CT_STUDY}/metadata`, headers: { cookie, host: 'evil.example', 'x-forwarded-host': 'evil.example', accept: 'application/dicom+json' } });
      expect(r.statusCode).toBe(200);
      expect(r.body).not.toContain('evil.example');
      const uris = [...r.body.matchAll(/"BulkDataURI"\s*:\s*"([^"]+)"/g)].map((m) => m[1]);
      expect(uris.length).toBeGreaterThan(0);
      for (const u of uris) expect(u.startsWith('https://reading.example.org/dicom-web/'), u).toBe(true);
    } finally {
      await gw?.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('PHI reads are audited once per session, study and kind', () => {
  const phiReads = async (actor: string) =>
    (await stack.gateway.store.db.selectFrom('audit').select(['study_uid', 'detail']).where('action', '=', 'phi-read').where('actor', '=', actor).execute()).map((r) => ({ study: r.study_uid, ...(JSON.parse(r.detail ?? '{}') as { kind: string; queryKeys?: string[] }) }));

  it('QIDO, metadata, frames and the opening stream: one record each, however many requests', async () => {
    const c = await login(stack.baseUrl, 'remy');
    for (let i = 0; i < 3; i++) expect((await c.fetch('/dicom-web/studies?PatientName=*')).status).toBe(200);
    const series = await c.json<DicomJson[]>(`/dicom-web/studies/${HEAD_CT_STUDY}/series`);
    const seriesUID = series[0]['0020000E'].Value![0] as string;
    const instances = await c.json<DicomJson[]>(`/dicom-web/studies/${HEAD_CT_STUDY}/series/${seriesUID}/instances`);
    for (let i = 0; i < 2; i++) expect((await c.fetch(`/dicom-web/studies/${HEAD_CT_STUDY}/series/${seriesUID}/metadata`)).status).toBe(200);
    for (const inst of instances) {
      for (let i = 0; i < 3; i++) {
        const r = await c.fetch(`/dicom-web/studies/${HEAD_CT_STUDY}/series/${seriesUID}/instances/${inst['00080018'].Value![0] as string}/frames/1`, { headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } });
        expect(r.status).toBe(200);
        await r.arrayBuffer();
      }
    }
    for (let i = 0; i < 2; i++) {
      const r = await c.fetch(`/api/studies/${HEAD_CT_STUDY}/opening`);
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
    const recs = await phiReads('remy');
    const kinds = recs.map((r) => `${r.study ?? '-'} ${r.kind}`).sort();
    expect(kinds).toEqual([`- qido-studies`, `${HEAD_CT_STUDY} frames`, `${HEAD_CT_STUDY} opening`, `${HEAD_CT_STUDY} qido-in-study`, `${HEAD_CT_STUDY} series-metadata`].sort());
    // The query's keys are recorded, never its values (they can be patient names).
    const qido = recs.find((r) => r.kind === 'qido-studies')!;
    expect(qido.queryKeys).toEqual(['PatientName']);
    expect(JSON.stringify(recs)).not.toContain('*');
  });

  it('another session of the same user is a new record; a refused read is not a PHI read', async () => {
    const c2 = await login(stack.baseUrl, 'remy');
    const before = (await phiReads('remy')).length;
    const r = await c2.fetch(`/api/studies/${HEAD_CT_STUDY}/opening`);
    await r.arrayBuffer();
    expect((await phiReads('remy')).length).toBe(before + 1);
    const gus = clients['ai-governance'];
    expect((await gus.fetch(`/dicom-web/studies/${HEAD_CT_STUDY}/series`)).status).toBe(403);
    expect(await phiReads('gus')).toEqual([]);
  });
});
