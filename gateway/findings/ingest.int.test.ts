/**
 * One ingestion path, against the real stack (real Orthanc, real DCMTK storescu, the real pre-read
 * with the real head CT model in worker threads, real SQLite): forged fields refused, a re-read
 * keeps verdicts, after sign-off new output is a separate set and no P follows the F, AI SRs that
 * arrive in the PACS become findings on the SERVER (source 'sr'), our own SR is not read back, and
 * the sign-off refuses unknown studies and unconfirmed unverified findings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, login, waitFor, type Stack, type Client } from '../../test/harness.js';
import { uploadFiles } from '../../scripts/lib/orthanc.js';
import { DICOM } from '../../scripts/lib/demo-data.js';
import { buildHeadCtStudy, cStore, newUid, type BuiltStudy } from '../preread/study-builder.js';
import { parseDicomPart10, writeDicomPart10 } from '../../src/core/sr/dicom.js';
import { buildMeasurementReport, studyFromDataset } from '../../src/core/sr/writer.js';
import { sampleFindings } from '../../src/core/sr/testing.js';
import { disableAiForStudy, enableAiForStudy } from '../trust/service.js';
import { signoffStatus } from './repository.js';
import { ingest } from './ingest.js';
import { backfillSrDocuments } from './sr-arrivals.js';
import type { Finding } from '../../src/core/findings/finding.js';
import type { AuditRecord } from '../audit/audit.js';

interface FindingsResponse {
  findings: Finding[];
  signoff: { signedBy: string; unverifiedIds: string[]; srState: string; oruState: string } | null;
  afterSignoff: Finding[];
  superseded: { id: string }[];
  srWarnings: string[];
}

let stack: Stack;
let rita: Client, ada: Client;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-ingest-int-'));
const built: BuiltStudy[] = [];
const peer = () => ({ port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
const get = (study: string) => rita.json<FindingsResponse>(`/api/studies/${study}/findings`);
const audit = async () => (await stack.gateway.store.db.selectFrom('audit').selectAll().orderBy('seq').execute()) as AuditRecord[];
const orus = async (study: string) =>
  (await stack.gateway.store.db.selectFrom('outbox').select(['id', 'payload']).where('kind', '=', 'hl7-oru').where('study_uid', '=', study).orderBy('id').execute()).map((r) => (JSON.parse(r.payload) as { status: string }).status);
const jobsDone = (study: string, n: number) =>
  waitFor(`${n} pre-read job(s) done for ${study}`, async () => {
    const r = await rita.fetch(`/api/studies/${study}/preread`);
    if (!r.ok) return null;
    const s = (await r.json()) as { jobs: { state: string }[] };
    return s.jobs.length >= n && s.jobs.every((j) => j.state === 'done' || j.state === 'failed') ? s : null;
  }, 150_000);

/** An AI SR from "another vendor" about one image of `file`'s study, written with the project's SR writer. */
function vendorSr(file: string): { path: string; sop: string } {
  const src = parseDicomPart10(fs.readFileSync(file));
  const sop = newUid();
  const ds = buildMeasurementReport({
    kind: 'ai',
    study: studyFromDataset(src),
    model: { name: 'vendor-ich', version: '2.0', manufacturer: 'Vendor Inc' },
    findings: sampleFindings(src, { model: { name: 'vendor-ich', version: '2.0', manufacturer: 'Vendor Inc' } }),
    sopInstanceUID: sop,
    seriesInstanceUID: newUid(),
    contentDateTime: new Date().toISOString(),
  });
  const out = path.join(tmp, `${sop}.dcm`);
  fs.writeFileSync(out, writeDicomPart10(ds));
  return { path: out, sop };
}

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '200';
  process.env.PREREAD_TIMEOUT_MS = '150000';
  stack = await startStack();
  [rita, ada] = await Promise.all(['rita', 'ada'].map((u) => login(stack.baseUrl, u)));
});

afterAll(async () => {
  await stack?.stop();
  for (const b of built) b.remove();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const TEMPLATE = {
  id: 'imported-1',
  studyInstanceUID: '1.2.826.0.1.4242.1',
  type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' },
  label: 'Intracranial hemorrhage',
  confidence: 0.8,
  severity: 'urgent',
  regions: [{ image: { seriesInstanceUID: '1.2.826.0.1.4242.1.1', sopInstanceUID: '1.2.826.0.1.4242.1.1.1' }, box: { x: 1, y: 1, width: 10, height: 10 } }],
  model: { name: 'integration-model', version: '1' },
};

describe('import: the server stamps, the client cannot', () => {
  it('refuses a client-set status, verdict, source, originalId or createdAt (422, naming the field) and stores nothing', async () => {
    const forged = [
      { ...TEMPLATE, status: 'accepted', verdict: { by: 'erin', at: '2026-01-01T00:00:00.000Z' } },
      { ...TEMPLATE, source: 'radiologist' },
      { ...TEMPLATE, originalId: 'fixture-ct-ich-1' },
      { ...TEMPLATE, createdAt: '2020-01-01T00:00:00.000Z' },
    ];
    for (const f of forged) {
      const r = await ada.post('/api/findings', [f]);
      expect(r.status).toBe(422);
      const body = JSON.stringify(await r.json());
      for (const k of ['status', 'verdict', 'source', 'originalId', 'createdAt'].filter((k) => k in f)) expect(body).toContain(`${k}: set by the server`);
    }
    expect(await stack.gateway.store.db.selectFrom('findings').select('id').where('id', '=', 'imported-1').executeTakeFirst()).toBeUndefined();
    const ok = await ada.post('/api/findings', [TEMPLATE]);
    expect(ok.status).toBe(201);
    const row = await stack.gateway.store.db.selectFrom('findings').select('body').where('id', '=', 'imported-1').executeTakeFirstOrThrow();
    const stored = JSON.parse(row.body) as Finding;
    expect(stored).toMatchObject({ status: 'ai-unverified', source: 'import', ingestedBy: 'ada' });
    expect(stored.verdict).toBeUndefined();
    expect(Date.now() - Date.parse(stored.createdAt!)).toBeLessThan(60_000);
    expect((await audit()).some((a) => a.action === 'finding-imported' && a.finding_id === 'imported-1' && a.actor === 'ada')).toBe(true);
  });
});

describe('sign-off', () => {
  it('refuses a study that does not exist (404) and a malformed body (422)', async () => {
    expect((await rita.post('/api/studies/1.2.826.0.1.999999.404/signoff', {})).status).toBe(404);
    expect((await rita.post('/api/studies/1.2.826.0.1.4242.1/signoff', { confirmUnverified: 'yes' })).status).toBe(422);
    expect(await stack.gateway.store.db.selectFrom('study_signoffs').select('study_uid').execute()).toEqual([]);
  });

  it('a study only the PACS knows (no findings, no pre-read) is found there and can be signed', async () => {
    const seg = path.join(DICOM, 'dcmqi', 'data', 'sr-example', 'seg.dcm');
    const study = String(parseDicomPart10(fs.readFileSync(seg)).StudyInstanceUID);
    expect((await rita.post(`/api/studies/${study}/signoff`, {})).status).toBe(404);
    await uploadFiles(stack.orthanc, [seg]);
    expect(await stack.gateway.store.db.selectFrom('findings').select('id').where('study_uid', '=', study).executeTakeFirst()).toBeUndefined();
    const r = await rita.post(`/api/studies/${study}/signoff`, {});
    expect(r.status, await r.clone().text()).toBe(201);
    expect(await r.json()).toMatchObject({ verified: 0, unverified: 0, unverifiedIds: [] });
  });

  it('with unverified findings: 409 listing them until confirmed; the ids left unverified are recorded and audited', async () => {
    const study = TEMPLATE.studyInstanceUID;
    const r = await rita.post(`/api/studies/${study}/signoff`, {});
    expect(r.status).toBe(409);
    expect(((await r.json()) as { unverified: { id: string }[] }).unverified.map((u) => u.id)).toEqual(['imported-1']);
    expect(await stack.gateway.store.db.selectFrom('study_signoffs').select('study_uid').where('study_uid', '=', study).execute()).toEqual([]);
    const ok = await rita.post(`/api/studies/${study}/signoff`, { confirmUnverified: true });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ signedBy: 'rita', unverifiedIds: ['imported-1'] });
    const s = await signoffStatus(stack.gateway.store.db, study);
    expect(s).toMatchObject({ signedBy: 'rita', unverifiedIds: ['imported-1'], srState: 'none' });
    expect(['pending', 'sent', 'acknowledged', 'failed']).toContain(s!.oruState);
    const a = (await audit()).find((x) => x.action === 'study-signed-off' && x.study_uid === study)!;
    expect(JSON.parse(a.detail!)).toMatchObject({ unverifiedIds: ['imported-1'], confirmedUnverified: true });
  });
});

describe('pre-read re-runs and late results', () => {
  let study: BuiltStudy;
  let accepted: Finding;

  it('a re-read (new images into a read study) keeps the radiologist’s verdict', async () => {
    // The first 20 slices hold three of the model's held-out lesions.
    study = await buildHeadCtStudy({ patientAge: '045Y', lesions: true, slices: 20 });
    built.push(study);
    const uid = study.studyInstanceUID;
    await cStore(study.files, peer());
    await jobsDone(uid, 1);
    const first = await waitFor('pre-read findings', async () => ((await get(uid)).findings.filter((f) => f.source === 'preread').length ? get(uid) : null));
    const target = first.findings.find((f) => f.source === 'preread')!;
    const v = await rita.post(`/api/findings/${encodeURIComponent(target.id)}/verdict`, { action: 'accept' });
    expect(v.status).toBe(200);
    accepted = ((await v.json()) as { finding: Finding }).finding;

    // New images C-STOREd into the read study: a re-read.
    const more = await buildHeadCtStudy({ patientAge: '045Y', studyInstanceUID: uid, slices: 1, firstSlice: 20 });
    built.push(more);
    await cStore(more.files, peer());
    await jobsDone(uid, 2);
    const after = await get(uid);
    const still = after.findings.find((f) => f.id === accepted.id)!;
    expect(still.status).toBe('accepted');
    expect(still.verdict).toEqual(accepted.verdict);
    const kept = (await audit()).filter((a) => a.action === 'finding-ingest-kept-verdict' && a.finding_id === accepted.id);
    expect(kept.length).toBeGreaterThan(0);
    expect(JSON.parse(kept[0].detail!)).toMatchObject({ source: 'preread', kept: { status: 'accepted', by: 'rita' } });
  });

  it('after sign-off: a re-read with new output is kept apart ("after sign-off"), the signed record is unchanged, no P follows the F', async () => {
    const uid = study.studyInstanceUID;
    const signed = await rita.post(`/api/studies/${uid}/signoff`, { confirmUnverified: true });
    expect(signed.status).toBe(201);
    const record = (await get(uid)).findings;
    expect(await orus(uid)).toContain('F');

    // A whole new lesion series in the signed study: the model's new output has new ids.
    const again = await buildHeadCtStudy({ patientAge: '045Y', studyInstanceUID: uid, lesions: true });
    built.push(again);
    await cStore(again.files, peer());
    await jobsDone(uid, 3);
    // And an AI SR from another vendor arriving after sign-off.
    const sr = vendorSr(again.files[0]);
    await uploadFiles(stack.orthanc, [sr.path]);
    const late = await waitFor('late results', async () => {
      const r = await get(uid);
      return r.afterSignoff.some((f) => f.source === 'sr') && r.afterSignoff.some((f) => f.source === 'preread') ? r : null;
    }, 90_000);
    expect(late.findings).toEqual(record);
    expect(late.afterSignoff.every((f) => f.status === 'ai-unverified')).toBe(true);
    const statuses = await orus(uid);
    expect(statuses.slice(statuses.indexOf('F'))).not.toContain('P');
    expect((await audit()).filter((a) => a.action === 'finding-after-signoff' && a.study_uid === uid).length).toBe(late.afterSignoff.length);
    // Our own verified SR, once stored in the PACS, is recognised and not read back as new findings.
    const ownSop = (await stack.gateway.store.db.selectFrom('outbox').select('message_id').where('kind', '=', 'sr-stow').where('study_uid', '=', uid).where('dedupe_key', 'like', 'sr:verified:%').executeTakeFirstOrThrow()).message_id;
    const own = await waitFor('own SR recognised', async () => stack.gateway.store.db.selectFrom('sr_documents').selectAll().where('sop_instance_uid', '=', ownSop).executeTakeFirst(), 90_000);
    expect(own).toMatchObject({ state: 'own', findings_count: 0 });
    expect(await signoffStatus(stack.gateway.store.db, uid)).toMatchObject({ srState: 'acknowledged', afterSignoff: late.afterSignoff.length });
  });
});

describe('re-read supersession', () => {
  it('a complete re-read of a model supersedes its older unverified findings, visibly (API) and audited with what was replaced', async () => {
    const study = '1.2.826.0.1.4242.2';
    const model = { name: 'integration-preread', version: '1', manufacturer: 'Test' };
    const mk = (id: string, confidence: number) => ({ ...TEMPLATE, id, studyInstanceUID: study, confidence, source: 'preread', status: 'ai-unverified', kind: 'diagnostic', measurements: [], model } as unknown as Finding);
    const deps = { db: stack.gateway.store.db, events: stack.gateway.ctx.events };
    const changed: string[] = [];
    const off = stack.gateway.ctx.events.on('findings-changed', (e) => void changed.push(`${e.studyUID}:${e.cause}`));
    await ingest(deps, { studyUID: study, source: 'preread', actor: { username: 'preread' }, model, findings: [mk('rr-1', 0.9), mk('rr-2', 0.7)], completeResultSet: true });
    const out = await ingest(deps, { studyUID: study, source: 'preread', actor: { username: 'preread' }, model, findings: [mk('rr-1', 0.95)], completeResultSet: true });
    off();
    expect(out.superseded.map((f) => f.id)).toEqual(['rr-2']);
    expect(changed).toEqual([`${study}:ingest`, `${study}:ingest`]);
    const r = await get(study);
    expect(r.findings.map((f) => [f.id, f.confidence])).toEqual([['rr-1', 0.95]]);
    expect(r.superseded).toMatchObject([{ id: 'rr-2', supersededBy: 'preread' }]);
    const a = (await audit()).find((x) => x.action === 'finding-superseded' && x.finding_id === 'rr-2')!;
    expect(JSON.parse(a.detail!)).toMatchObject({ source: 'preread', superseded: { confidence: 0.7, status: 'ai-unverified' }, by: ['rr-1'] });
    const replaced = (await audit()).filter((x) => x.action === 'finding-ingested' && x.finding_id === 'rr-1');
    expect(JSON.parse(replaced[1].detail!)).toMatchObject({ replaced: { confidence: 0.9 }, finding: { confidence: 0.95 } });
  });
});

describe('AI SRs in the PACS are read by the server', () => {
  it('an SR arriving in Orthanc becomes findings with source sr, through the reader policy (AI disabled hides them)', async () => {
    const s = await buildHeadCtStudy({ patientAge: '050Y', slices: 3, firstSlice: 2 });
    built.push(s);
    await cStore(s.files, peer());
    const sr = vendorSr(s.files[0]);
    await uploadFiles(stack.orthanc, [sr.path]);
    const r = await waitFor('SR findings', async () => {
      const x = await get(s.studyInstanceUID);
      return x.findings.some((f) => f.source === 'sr') ? x : null;
    }, 90_000);
    const fromSr = r.findings.filter((f) => f.source === 'sr');
    expect(fromSr.map((f) => f.id).sort()).toEqual(['ICH-1', 'ICH-2', 'Q-1'].map((k) => `sr:${sr.sop}:${k}`).sort());
    expect(fromSr.every((f) => f.status === 'ai-unverified' && f.ingestedBy === 'sr-reader' && f.model.name === 'vendor-ich')).toBe(true);
    const doc = await stack.gateway.store.db.selectFrom('sr_documents').selectAll().where('sop_instance_uid', '=', sr.sop).executeTakeFirstOrThrow();
    expect(doc).toMatchObject({ state: 'read', findings_count: 3, study_uid: s.studyInstanceUID });
    // Same policy as every other finding: AI disabled for the study hides them from the reader.
    const user = { id: 1, username: 'rita', displayName: 'Reader^Rita', role: 'radiologist' as const };
    await disableAiForStudy(stack.gateway.store.db, s.studyInstanceUID, 'integration test', user);
    expect((await get(s.studyInstanceUID)).findings.filter((f) => f.source === 'sr')).toEqual([]);
    await enableAiForStudy(stack.gateway.store.db, s.studyInstanceUID, user);
    // Read once: a later stable change of the series does not duplicate them.
    expect((await stack.gateway.store.db.selectFrom('findings').select('id').where('id', 'like', `sr:${sr.sop}:%`).execute()).length).toBe(3);
  });

  it('SRs already in the PACS before the server read them are read by the start-up backfill, once', async () => {
    const s = await buildHeadCtStudy({ patientAge: '052Y', slices: 2, firstSlice: 5 });
    built.push(s);
    await cStore(s.files, peer());
    const sr = vendorSr(s.files[0]);
    await uploadFiles(stack.orthanc, [sr.path]);
    await waitFor('read by the feed', async () => stack.gateway.store.db.selectFrom('sr_documents').select('sop_instance_uid').where('sop_instance_uid', '=', sr.sop).executeTakeFirst(), 90_000);
    // As if this SR had been stored before the gateway read SRs: no record of it, no findings from it.
    await stack.gateway.store.db.deleteFrom('sr_documents').where('sop_instance_uid', '=', sr.sop).execute();
    await stack.gateway.store.db.deleteFrom('findings').where('id', 'like', `sr:${sr.sop}:%`).execute();
    const deps = { db: stack.gateway.store.db, orthanc: stack.gateway.ctx.orthanc };
    expect(await backfillSrDocuments(deps)).toEqual([sr.sop]);
    expect((await get(s.studyInstanceUID)).findings.filter((f) => f.source === 'sr').map((f) => f.id).sort()).toEqual(['ICH-1', 'ICH-2', 'Q-1'].map((k) => `sr:${sr.sop}:${k}`).sort());
    expect(await backfillSrDocuments(deps)).toEqual([]);
  });

  it('image series are never taken for SR documents', async () => {
    const docs = await stack.gateway.store.db.selectFrom('sr_documents').select(['series_uid']).execute();
    expect(docs.length).toBeGreaterThan(0);
    for (const b of built) expect(docs.map((d) => d.series_uid)).not.toContain(b.seriesInstanceUID);
  });
});
