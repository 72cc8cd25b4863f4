/**
 * A finding the AI missed, recorded by the radiologist (issue 15, item 2), through the HTTP API with a
 * real gateway and Orthanc: stored through the one ingestion path as source 'radiologist', accepted by
 * that radiologist (never an AI finding), the client cannot set source, status or verdict, roles come
 * from the permission table, and at sign-off it is in the verified SR's and the ORU's findings (the
 * outbox payloads) while the AI model they name is not "radiologist"; after sign-off: 409.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { whileAuditRefused } from '../../test/audit-refused.js';
import { startStack, login, type Client, type Stack } from '../../test/harness.js';
import { HEAD_CT_DIR } from '../../scripts/lib/demo-data.js';
import { parseDicomPart10 } from '../../src/core/sr/dicom.js';
import type { Finding } from '../../src/core/findings/finding.js';

const FILE = path.join(HEAD_CT_DIR, '07.dcm');
const SRC = parseDicomPart10(fs.readFileSync(FILE));
const STUDY = String(SRC.StudyInstanceUID);
const region = { image: { seriesInstanceUID: String(SRC.SeriesInstanceUID), sopInstanceUID: String(SRC.SOPInstanceUID) }, box: { x: 200, y: 180, width: 40, height: 30 } };

let stack: Stack;
let rita: Client;
let toby: Client;
let prevPreread: string | undefined;

beforeAll(async () => {
  prevPreread = process.env.PREREAD;
  process.env.PREREAD = '0';
  stack = await startStack({ files: [FILE] });
  [rita, toby] = await Promise.all(['rita', 'toby'].map((u) => login(stack.baseUrl, u)));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (prevPreread === undefined) delete process.env.PREREAD;
  else process.env.PREREAD = prevPreread;
});

describe('a finding the AI missed', () => {
  let id = '';

  it('is stored as the radiologist\'s own accepted finding, never as AI', async () => {
    const r = await rita.post(`/api/studies/${STUDY}/findings/radiologist`, { type: 'intracranialHemorrhage', region });
    expect(r.status).toBe(201);
    const f = (await r.json()) as Finding;
    id = f.id;
    expect(f).toMatchObject({ source: 'radiologist', status: 'accepted', severity: 'critical', label: 'Intracranial hemorrhage', verdict: { by: 'rita', role: 'radiologist' }, ingestedBy: 'rita' });
    expect(f.model.name).toBe('radiologist');
    expect(f.regions[0].box).toEqual(region.box);
    const list = await rita.json<{ findings: Finding[] }>(`/api/studies/${STUDY}/findings`);
    expect(list.findings.find((x) => x.id === id)?.source).toBe('radiologist');
    const audit = await stack.gateway.store.db.selectFrom('audit').select(['action', 'actor']).where('finding_id', '=', id).execute();
    expect(audit).toContainEqual({ action: 'finding-radiologist-recorded', actor: 'rita' });
  });

  it('refuses what the server stamps, a missing box, and roles without findings.verdict', async () => {
    for (const extra of [{ source: 'preread' }, { status: 'ai-unverified' }, { verdict: { by: 'erin', at: new Date().toISOString() } }, { confidence: 0.2 }]) {
      expect((await rita.post(`/api/studies/${STUDY}/findings/radiologist`, { type: 'fracture', region, ...extra })).status).toBe(422);
    }
    expect((await rita.post(`/api/studies/${STUDY}/findings/radiologist`, { type: 'fracture', region: { image: region.image } })).status).toBe(422);
    expect((await rita.post(`/api/studies/${STUDY}/findings/radiologist`, { type: 'motionArtefact', region })).status).toBe(422);
    expect((await toby.post(`/api/studies/${STUDY}/findings/radiologist`, { type: 'fracture', region })).status).toBe(403);
  });

  it('a radiologist finding whose audit record cannot be written is not kept', async () => {
    const db = stack.gateway.store.db;
    const count = async () => (await db.selectFrom('findings').select('id').where('source', '=', 'radiologist').execute()).length;
    const n0 = await count();
    await whileAuditRefused(db, async () => {
      expect((await rita.post(`/api/studies/${STUDY}/findings/radiologist`, { type: 'intracranialHemorrhage', region })).status).toBe(500);
    });
    expect(await count()).toBe(n0);
  });

  it('goes into the verified SR and the ORU at sign-off; afterwards it is refused', async () => {
    const s = await rita.post(`/api/studies/${STUDY}/signoff`, { confirmUnverified: true });
    expect(s.status).toBe(201);
    const rows = await stack.gateway.store.db.selectFrom('outbox').select(['kind', 'payload']).where('study_uid', '=', STUDY).execute();
    const sr = rows.map((r) => JSON.parse(r.payload)).find((p) => p.type === 'sr' && p.kind === 'verified');
    const oru = rows.map((r) => JSON.parse(r.payload)).find((p) => p.type === 'oru' && p.status === 'F');
    expect(sr?.findings.map((f: Finding) => f.id)).toContain(id);
    expect(oru?.findings.map((f: Finding) => f.id)).toContain(id);
    expect(sr.findings.find((f: Finding) => f.id === id).source).toBe('radiologist');
    expect((await rita.post(`/api/studies/${STUDY}/findings/radiologist`, { type: 'fracture', region })).status).toBe(409);
  });
});
