/**
 * One registry, one study-facts function, one eligibility rule, against a real Orthanc (DCMTK
 * storescu C-STOREs) and the real gateway with its real pre-read:
 *  - the browser's decision (THE facts from the WADO-RS metadata the gateway's /dicom-web proxy
 *    serves, THE eligibility rule, the manifests /api/models lists) and the server's (ai-status on
 *    the facts read from Orthanc's DICOMweb, and the pre-read's routing) agree, reason for reason,
 *    over adult, paediatric, perfusion-map, mixed, MR and chest CR studies;
 *  - a DERIVED\SECONDARY perfusion map gets no job, ai-status refuses it and the AI results guard
 *    refuses results on it, all three with the same reason;
 *  - /api/models, ai-status, the rollout list and the pre-read read the one registry (ctx.models): a
 *    model added to the folder appears in all of them without a restart, and goes when removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startStack, login, waitFor, type Stack, type Client } from '../../test/harness.js';
import { CHEST_CR, REPO_ROOT, mrSeriesFiles } from '../../scripts/lib/demo-data.js';
import { buildHeadCtStudy, cStore, newUid, type BuiltStudy } from '../preread/study-builder.js';
import { testFinding } from '../trust/testing.js';
import { upsertFinding } from '../findings/repository.js';
import { FindingSchema } from '../../src/core/findings/finding.js';
import { readDicomJson } from '../../test/dicom-json.js';
import { parseManifest, type ModelManifest } from '../../src/core/ai/manifest.js';
import { decideRun, eligibility, type ServerModelVerdict } from '../../src/core/ai/eligibility.js';
import { studyFacts } from '../../src/core/study/facts.js';
import { TAG, str, type DicomJson } from '../../src/core/imaging/dicomJson.js';
import { isIgnoredSeries } from '../../src/core/triage/arrival.js';
import type { RoutingDecision } from '../preread/models.js';

const PERFUSION = 'DERIVED\\SECONDARY\\PERFUSION';
const PERFUSION_REASON = 'outside input domain: image type DERIVED\\SECONDARY\\PERFUSION is not ORIGINAL\\PRIMARY';
const HEAD = 'head-ct-hyperdensity';
/** The registered version: results for any other are refused. */
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'models', HEAD, 'manifest.json'), 'utf8')) as { version: string }).version;

let stack: Stack;
let rita: Client, ada: Client;
let tmp: string;
let modelsDir: string;
const built: BuiltStudy[] = [];
const studies: Record<string, string> = {};
let mixedOriginal = '';
let mixedMap = '';

type AiStatus = { models: (ServerModelVerdict & { series: string | null })[]; summary: string };

const peer = () => ({ port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
const dcmodify = (files: string[], edits: Record<string, string>) =>
  execFileSync('dcmodify', ['-nb', ...Object.entries(edits).flatMap(([t, v]) => ['-i', `${t}=${v}`]), ...files], { stdio: 'pipe' });

async function build(opts: Parameters<typeof buildHeadCtStudy>[0], edits: Record<string, string> = {}): Promise<BuiltStudy> {
  const s = await buildHeadCtStudy({ slices: 3, firstSlice: 10, parentDir: tmp, ...opts });
  if (Object.keys(edits).length) dcmodify(s.files, edits);
  built.push(s);
  return s;
}

async function prereadRow(uid: string) {
  const db = stack.gateway.store.db;
  return waitFor(`the pre-read to route study ${uid}`, () => db.selectFrom('preread_studies').selectAll().where('study_uid', '=', uid).executeTakeFirst(), 90_000, 200);
}
const routingOf = async (uid: string) => JSON.parse((await prereadRow(uid)).routing) as RoutingDecision[];

/** What the browser does: its own facts from the metadata the gateway proxies, its own manifests from /api/models. */
async function browserSide(study: string, series: string) {
  const meta = await rita.json<DicomJson[]>(`/dicom-web/studies/${study}/series/${series}/metadata`, { headers: { accept: 'application/dicom+json' } });
  const facts = studyFacts(meta);
  const { models } = await rita.json<{ models: unknown[] }>('/api/models');
  const manifests = models.map((m) => {
    const { modelUrl: _u, ...rest } = m as Record<string, unknown>;
    const p = parseManifest(rest);
    if (!p.ok) throw new Error(p.errors.join('; '));
    return p.value;
  });
  return { facts, manifests };
}

/** The study's image series, as the viewer lists them (our own AI SR, written by the pre-read, left out). */
async function seriesOf(study: string): Promise<string[]> {
  const qido = await rita.json<DicomJson[]>(`/dicom-web/studies/${study}/series`, { headers: { accept: 'application/dicom+json' } });
  return qido
    .filter((s) => !isIgnoredSeries({ Modality: str(s, TAG.Modality), SeriesDescription: str(s, TAG.SeriesDescription) }))
    .map((s) => str(s, TAG.SeriesInstanceUID)!);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-eligibility-'));
  // A private copy of the registry: a test adds and removes a model.
  modelsDir = path.join(tmp, 'models');
  fs.cpSync(path.join(REPO_ROOT, 'models'), modelsDir, { recursive: true, filter: (p) => !p.endsWith('.py') && !p.includes('__pycache__') && !p.endsWith('heldout.json') });
  process.env.PREREAD_POLL_MS = '200';
  stack = await startStack({ config: { modelsDir } });
  [rita, ada] = await Promise.all(['rita', 'ada'].map((u) => login(stack.baseUrl, u)));

  const adult = await build({ patientAge: '045Y' });
  const child = await build({ patientAge: '009Y' });
  const perfusion = await build({ patientAge: '045Y' }, { '(0008,0008)': PERFUSION, '(0008,103E)': 'CT perfusion CBF map' });
  const mixedUid = newUid();
  const original = await build({ patientAge: '060Y', studyInstanceUID: mixedUid });
  // The map is the larger series of the mixed study: the pre-read must still pick the original.
  const map = await build({ patientAge: '060Y', studyInstanceUID: mixedUid, slices: 5, firstSlice: 12 }, { '(0008,0008)': PERFUSION });
  Object.assign(studies, { adult: adult.studyInstanceUID, child: child.studyInstanceUID, perfusion: perfusion.studyInstanceUID, mixed: mixedUid });
  [mixedOriginal, mixedMap] = [original.seriesInstanceUID, map.seriesInstanceUID];
  const mr = mrSeriesFiles();
  await cStore([...adult.files, ...child.files, ...perfusion.files, ...original.files, ...map.files, ...mr, CHEST_CR], peer());
  const uidOf = (file: string) => studyFacts(readDicomJson(file)).studyInstanceUID!;
  studies.mr = uidOf(mr[0]);
  studies.chest = uidOf(CHEST_CR);
  for (const uid of Object.values(studies)) await prereadRow(uid);
});

afterAll(async () => {
  await stack?.stop();
  delete process.env.PREREAD_POLL_MS;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("the browser's decision and the server's agree (same facts function, same rule, same reason)", () => {
  it('for every image series of every study, model by model', async () => {
    let compared = 0;
    for (const [label, study] of Object.entries(studies)) {
      for (const series of await seriesOf(study)) {
        const { facts, manifests } = await browserSide(study, series);
        const server = await rita.json<AiStatus>(`/api/studies/${study}/ai-status?series=${series}`);
        expect(server.models.map((m) => m.name).sort(), label).toEqual(manifests.map((m) => m.name).sort());
        for (const m of manifests) {
          const local = eligibility(m, facts);
          const v = server.models.find((x) => x.name === m.name)!;
          expect({ study: label, model: m.name, eligible: v.eligible, reason: v.eligibilityReason ?? null }).toEqual({ study: label, model: m.name, eligible: local.ok, reason: local.ok ? null : local.reason });
          expect(v.series).toBe(series);
          compared++;
        }
        // The combined decision never runs what either side refuses.
        const d = decideRun(manifests, facts, server.models);
        if (d.run) expect(server.models.find((x) => x.name === d.run!.name)).toMatchObject({ eligible: true, state: 'shown' });
      }
    }
    expect(compared).toBeGreaterThanOrEqual(2 * 7);
  });

  it("single-series studies: the pre-read's routing reason is the browser's reason", async () => {
    const expected: Record<string, Record<string, string>> = {
      adult: { [HEAD]: 'indicated: CT HEAD, age 45', 'chest-cr-nodule': 'outside indication: modality CT not in CR/DX' },
      child: { [HEAD]: 'outside indication: age 9 < 18' },
      perfusion: { [HEAD]: PERFUSION_REASON },
      mr: { [HEAD]: 'outside indication: modality MR not in CT', 'chest-cr-nodule': 'outside indication: modality MR not in CR/DX' },
      chest: { 'chest-cr-nodule': 'indicated: CR CHEST', [HEAD]: 'outside indication: modality CR not in CT' },
    };
    for (const [label, byModel] of Object.entries(expected)) {
      const study = studies[label];
      const [series] = await seriesOf(study);
      const { facts, manifests } = await browserSide(study, series);
      const routing = await routingOf(study);
      for (const [model, reason] of Object.entries(byModel)) {
        expect(routing.find((r) => r.model === model), `${label} ${model}`).toMatchObject({ reason, decision: reason.startsWith('indicated') ? 'run' : 'skip' });
        const local = eligibility(manifests.find((m) => m.name === model)!, facts);
        expect(local.ok ? 'indicated' : local.reason, `${label} ${model}`).toBe(reason.startsWith('indicated') ? 'indicated' : reason);
      }
    }
  });
});

describe('a DERIVED perfusion map', () => {
  it('gets no job; the pre-read, ai-status and the results guard refuse it with the same reason', async () => {
    const uid = studies.perfusion;
    const db = stack.gateway.store.db;
    expect(await db.selectFrom('preread_jobs').select('model').where('study_uid', '=', uid).execute()).toEqual([]);
    expect((await routingOf(uid)).find((r) => r.model === HEAD)).toMatchObject({ decision: 'skip', reason: PERFUSION_REASON });
    const st = await rita.json<AiStatus>(`/api/studies/${uid}/ai-status`);
    expect(st.models.find((m) => m.name === HEAD)).toMatchObject({ eligible: false, eligibilityReason: PERFUSION_REASON, state: 'outside-indication', reason: PERFUSION_REASON });
    const [series] = await seriesOf(uid);
    const r = await rita.post(`/api/studies/${uid}/ai-results`, {
      model: { name: HEAD, version: VERSION },
      provider: 'wasm',
      findings: [testFinding(uid, { source: 'client', model: { name: HEAD, version: VERSION }, regions: [{ image: { seriesInstanceUID: series, sopInstanceUID: `${series}.1` }, box: { x: 10, y: 10, width: 8, height: 8 } }] })],
    });
    expect(r.status).toBe(409);
    expect(((await r.json()) as { error: string }).error).toBe(PERFUSION_REASON);
  });

  it('in a study that also holds the original series: the pre-read reads the original; the map alone is refused everywhere', async () => {
    const uid = studies.mixed;
    const db = stack.gateway.store.db;
    const route = (await routingOf(uid)).find((r) => r.model === HEAD)!;
    expect(route).toMatchObject({ decision: 'run', seriesInstanceUID: mixedOriginal, reason: 'indicated: CT HEAD, age 60' });
    const jobs = await db.selectFrom('preread_jobs').select(['model', 'payload']).where('study_uid', '=', uid).execute();
    expect(jobs.map((j) => [j.model, (JSON.parse(j.payload) as { seriesInstanceUID: string }).seriesInstanceUID])).toEqual([[HEAD, mixedOriginal]]);
    const onMap = await rita.json<AiStatus>(`/api/studies/${uid}/ai-status?series=${mixedMap}`);
    expect(onMap.models.find((m) => m.name === HEAD)).toMatchObject({ eligible: false, eligibilityReason: PERFUSION_REASON });
    const onOriginal = await rita.json<AiStatus>(`/api/studies/${uid}/ai-status?series=${mixedOriginal}`);
    expect(onOriginal.models.find((m) => m.name === HEAD)).toMatchObject({ eligible: true, state: 'shown' });
    // Results computed in a browser on the map are refused, though the study has an eligible series.
    const post = (series: string) =>
      rita.post(`/api/studies/${uid}/ai-results`, {
        model: { name: HEAD, version: VERSION },
        provider: 'wasm',
        findings: [testFinding(uid, { source: 'client', model: { name: HEAD, version: VERSION }, regions: [{ image: { seriesInstanceUID: series, sopInstanceUID: `${series}.1` }, box: { x: 10, y: 10, width: 8, height: 8 } }] })],
      });
    const bad = await post(mixedMap);
    expect(bad.status).toBe(409);
    expect(((await bad.json()) as { error: string }).error).toBe(PERFUSION_REASON);
    const good = await post(mixedOriginal);
    expect(good.status, await good.clone().text()).toBe(201);
  });
});

describe('the reader filter applies the same rule per finding', () => {
  it("a model's mark on the perfusion map is never shown; its mark on the original series of the same study is", async () => {
    const uid = studies.mixed;
    const db = stack.gateway.store.db;
    // As if they had come in before the guard existed (an old import, another vendor's SR): straight into the table.
    const mark = (series: string) =>
      FindingSchema.parse({ ...testFinding(uid, { model: { name: HEAD, version: VERSION }, regions: [{ image: { seriesInstanceUID: series, sopInstanceUID: `${series}.1` }, box: { x: 10, y: 10, width: 8, height: 8 } }] }), status: 'ai-unverified' });
    const onMap = mark(mixedMap);
    const onOriginal = mark(mixedOriginal);
    await upsertFinding(db, onMap);
    await upsertFinding(db, onOriginal);
    const ids = ((await rita.json<{ findings: { id: string }[] }>(`/api/studies/${uid}/findings`)).findings).map((f) => f.id);
    expect(ids).toContain(onOriginal.id);
    expect(ids).not.toContain(onMap.id);
  });
});

describe('the facts are current', () => {
  it('a series stored into a study the server has just judged is judged at once (no stale cache)', async () => {
    const uid = studies.child;
    expect((await rita.json<AiStatus>(`/api/studies/${uid}/ai-status`)).models.find((m) => m.name === HEAD)).toMatchObject({ eligible: false, eligibilityReason: 'outside indication: age 9 < 18' });
    const more = await build({ patientAge: '009Y', studyInstanceUID: uid }, { '(0008,0008)': PERFUSION });
    await cStore(more.files, peer());
    const st = await rita.json<AiStatus>(`/api/studies/${uid}/ai-status?series=${more.seriesInstanceUID}`);
    // The map of a child: the check that got furthest speaks (age comes before the input domain).
    expect(st.models.find((m) => m.name === HEAD)).toMatchObject({ eligible: false, eligibilityReason: 'outside indication: age 9 < 18', series: more.seriesInstanceUID });
    const adultMap = await build({ patientAge: '045Y', studyInstanceUID: studies.adult }, { '(0008,0008)': PERFUSION });
    await rita.json<AiStatus>(`/api/studies/${studies.adult}/ai-status`);
    await cStore(adultMap.files, peer());
    const onMap = await rita.json<AiStatus>(`/api/studies/${studies.adult}/ai-status?series=${adultMap.seriesInstanceUID}`);
    expect(onMap.models.find((m) => m.name === HEAD)).toMatchObject({ eligible: false, eligibilityReason: PERFUSION_REASON, series: adultMap.seriesInstanceUID });
  });
});

describe('one model registry (ctx.models)', () => {
  it('/api/models, ai-status, the rollout list and the pre-read all read it; a model added or removed is seen by all without a restart', async () => {
    const names = async () => (await rita.json<{ models: { name: string }[] }>('/api/models')).models.map((m) => m.name);
    expect(await names()).toEqual(stack.gateway.ctx.models.all().map((m) => m.manifest.name));
    expect(await names()).toEqual(['chest-cr-nodule', HEAD]);

    // Install a third model: a copy of the head CT model under another name.
    const dir = path.join(modelsDir, 'head-ct-copy');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(modelsDir, HEAD, 'model.onnx'), path.join(dir, 'model.onnx'));
    const m = JSON.parse(fs.readFileSync(path.join(modelsDir, HEAD, 'manifest.json'), 'utf8')) as ModelManifest;
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...m, name: 'head-ct-copy' }));
    // The registry learns of the folder from its file events (gateway/ai/registry.ts): within moments, not a restart.
    const listed = (want: string[]) => waitFor(`/api/models to list ${want.join(', ')}`, async () => JSON.stringify(await names()) === JSON.stringify(want), 5000, 50);
    try {
      await listed(['chest-cr-nodule', 'head-ct-copy', HEAD]);
      const st = await rita.json<AiStatus>(`/api/studies/${studies.perfusion}/ai-status`);
      expect(st.models.find((x) => x.name === 'head-ct-copy')).toMatchObject({ eligible: false, eligibilityReason: PERFUSION_REASON });
      const rollout = await ada.json<{ models: { name: string }[] }>('/api/admin/rollout');
      expect(rollout.models.map((x) => x.name)).toContain('head-ct-copy');
      // A study arriving now is routed to it too.
      const late = await build({ patientAge: '050Y' });
      await cStore(late.files, peer());
      const routing = await routingOf(late.studyInstanceUID);
      expect(routing.map((r) => r.model).sort()).toEqual(['chest-cr-nodule', 'head-ct-copy', HEAD]);
      expect(routing.find((r) => r.model === 'head-ct-copy')).toMatchObject({ decision: 'run' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    await listed(['chest-cr-nodule', HEAD]);
    expect((await rita.json<AiStatus>(`/api/studies/${studies.adult}/ai-status`)).models.map((x) => x.name)).toEqual(['chest-cr-nodule', HEAD]);
  });
});
