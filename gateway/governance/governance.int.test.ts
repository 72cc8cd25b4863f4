/**
 * Governance figures end to end against a real Orthanc and the real gateway: a history made through the
 * real paths (import, pre-read ingest with a re-read that supersedes, a reader opening the study,
 * verdicts with several reasons, a modification, a radiologist's own finding, sign-off, output after
 * sign-off, a silent model) gives exactly the figures worked out by hand here, the states add up to
 * what the three tables hold, the CSV has the same numbers, and only governance.read roles get them.
 * The gateway writes its own health records (gateway, PACS) from the start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { whileAuditRefused } from '../../test/audit-refused.js';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { headCtFiles, CHEST_CR } from '../../scripts/lib/demo-data.js';
import { testFinding } from '../trust/testing.js';
import { ingest } from '../findings/ingest.js';
import { upsertFinding } from '../findings/repository.js';
import { FindingSchema, type Finding } from '../../src/core/findings/finding.js';
import { parseDicomPart10 } from '../../src/core/sr/dicom.js';
import { execFileSync } from 'node:child_process';
import { SHARED } from '../../scripts/lib/demo-data.js';
import type { Figures, FigureRow } from '../../src/core/governance/figures.js';
import { DEFAULT_ALERT_RULES, type AlertRules } from '../../src/core/governance/rules.js';
import type { Notice } from './alerts.js';
import type { Evaluation } from '../../src/core/governance/evaluation.js';
import type { DriftRow } from '../../src/core/governance/drift.js';

const HEAD_CT = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const CHEST = '1.2.392.200036.9125.0.199302241758.16';
const CT_MODEL = { name: 'gov-ct', version: '1.0', manufacturer: 'Test' };
const PNEUMOTHORAX = { value: '36118008', scheme: 'SCT', meaning: 'Pneumothorax' };

let stack: Stack;
let tmp = '';
const c: Record<string, Client> = {};
const noSource = (f: ReturnType<typeof testFinding>) => {
  const { source, ...rest } = f;
  void source;
  return rest;
};
// a–d mark a real slice of the head CT (their assessment SRs reference it); e, p1–p4 a made-up image.
const SLICE = parseDicomPart10(fs.readFileSync(headCtFiles()[11]));
const realRegion = [{ image: { seriesInstanceUID: String(SLICE.SeriesInstanceUID), sopInstanceUID: String(SLICE.SOPInstanceUID) }, box: { x: 100, y: 100, width: 20, height: 20 } }];
const imported = {
  a: testFinding(HEAD_CT, { model: CT_MODEL, severity: 'critical', regions: realRegion }),
  b: testFinding(HEAD_CT, { model: CT_MODEL, severity: 'routine', label: 'B', regions: realRegion }),
  c: testFinding(HEAD_CT, { model: CT_MODEL, severity: 'routine', label: 'C', regions: realRegion }),
  d: testFinding(HEAD_CT, { model: CT_MODEL, severity: 'urgent', label: 'D', regions: realRegion }),
  e: testFinding(HEAD_CT, { model: CT_MODEL, severity: 'routine', label: 'E' }),
};
const pre = (id: string) => FindingSchema.parse({ ...testFinding(HEAD_CT, { model: CT_MODEL, severity: 'routine', label: id }), id });

beforeAll(async () => {
  tmp = fs.mkdtempSync('/tmp/governance-int-');
  const modelsDir = path.join(tmp, 'models'); // no models: the pre-read runs nothing of its own
  fs.mkdirSync(modelsDir);
  stack = await startStack({ files: [...headCtFiles().slice(10, 13), CHEST_CR], config: { modelsDir } });
  for (const u of ['rita', 'remy', 'erin', 'toby', 'ada', 'gus']) c[u] = await login(stack.baseUrl, u);
  const db = stack.gateway.store.db;
  const deps = { db, events: stack.gateway.ctx.events };

  // 5 imported + a pre-read result set [p1, p2], re-read as [p2, p3]: p1 superseded.
  expect((await c.rita.post('/api/findings', Object.values(imported).map(noSource))).status).toBe(201);
  await ingest(deps, { studyUID: HEAD_CT, source: 'preread', actor: { username: 'preread' }, model: CT_MODEL, findings: [pre('gov-p1'), pre('gov-p2')], completeResultSet: true });
  await ingest(deps, { studyUID: HEAD_CT, source: 'preread', actor: { username: 'preread' }, model: CT_MODEL, findings: [pre('gov-p2'), pre('gov-p3')], completeResultSet: true });
  // A radiologist opens the study: all 7 live AI findings shown.
  expect((await c.rita.json<{ findings: Finding[] }>(`/api/studies/${HEAD_CT}/findings`)).findings.length).toBe(7);
  const verdict = async (id: string, body: unknown) => expect((await c.rita.post(`/api/findings/${id}/verdict`, body)).status).toBe(200);
  await verdict(imported.a.id, { action: 'accept' });
  await verdict(imported.b.id, { action: 'reject', reason: 'false-positive' });
  await verdict(imported.c.id, { action: 'reject', reason: 'artefact' });
  await verdict(imported.d.id, { action: 'modify', changes: { severity: 'routine' } });
  await verdict('gov-p3', { action: 'reject', reason: 'false-positive' });
  // The radiologist's own critical finding (a miss of the AI): the AI found the ICH, not the pneumothorax.
  const own = FindingSchema.parse({
    ...testFinding(HEAD_CT, { type: PNEUMOTHORAX, label: 'Pneumothorax', severity: 'critical', model: { name: 'radiologist', version: '1' } }),
    source: 'radiologist',
    status: 'accepted',
    verdict: { by: 'rita', role: 'radiologist', at: new Date().toISOString() },
    createdAt: new Date().toISOString(),
  });
  await upsertFinding(db, own);
  const signed = await c.rita.post(`/api/studies/${HEAD_CT}/signoff`, { confirmUnverified: true, confirmAiPending: true });
  expect(signed.status, await signed.clone().text()).toBe(201);
  // Output after sign-off: kept apart, never in the signed record.
  const late = await ingest(deps, { studyUID: HEAD_CT, source: 'preread', actor: { username: 'preread' }, model: CT_MODEL, findings: [pre('gov-p4')], completeResultSet: true });
  expect(late.afterSignoff.length).toBe(1);

  // A silent model on the chest CR: stored, hidden by the rollout, counted.
  expect((await c.ada.fetch('/api/admin/models/gov-cr/rollout', { method: 'PUT', body: JSON.stringify({ mode: 'silent' }), headers: { 'content-type': 'application/json' } })).status).toBe(200);
  const cr = testFinding(CHEST, { model: { name: 'gov-cr', version: '2' }, severity: 'urgent', type: { value: '427359005', scheme: 'SCT', meaning: 'Solitary nodule of lung' }, label: 'Nodule' });
  expect((await c.rita.post('/api/findings', [noSource(cr)])).status).toBe(201);
});
afterAll(async () => {
  await stack?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('governance figures from the real lifecycle', () => {
  it('per model, version, mode and modality: the hand-counted figures, every output in exactly one state', async () => {
    const f = await c.gus.json<Figures>('/api/governance/figures');
    const ct = f.summary.filter((r) => r.model === 'gov-ct');
    expect(ct.length).toBe(1);
    const r = ct[0];
    expect(r).toMatchObject({ version: '1.0', mode: 'assistive', modality: 'CT', week: 'all' });
    // 5 imported + p2, p3 live + p1 superseded + p4 after sign-off.
    expect(r.produced).toBe(9);
    expect(r.states.shown).toEqual({ unverified: 2, accepted: 1, modified: 1, rejected: 3 });
    expect(r.states.superseded).toEqual({ unverified: 1, accepted: 0, modified: 0, rejected: 0 });
    expect(r.states['after-signoff']).toEqual({ unverified: 1, accepted: 0, modified: 0, rejected: 0 });
    expect(r.byVisibility).toMatchObject({ 'not-opened': 0, 'hidden-ai-disabled': 0, 'hidden-rollout': 0, 'hidden-indication': 0 });
    expect(r).toMatchObject({ shown: 7, verdicts: 5, agreementRate: 1 / 5, modifyRate: 1 / 5, falsePositiveRate: 2 / 7 });
    expect(r.rejectedBy).toEqual({ 'false-positive': 2, artefact: 1, 'clinically-insignificant': 0, other: 0, unspecified: 0 });
    expect(r.otherRejectionRates.artefact).toBe(1 / 7);
    expect(r).toMatchObject({ studiesProcessed: 1, studiesWithResults: 1, studiesOpened: 1, utilisation: 1, missesAdded: 1, criticalPositives: 2, criticalDetected: 1, criticalSensitivity: 0.5 });

    // What the three tables hold, all of it: the figures add up to it.
    const db = stack.gateway.store.db;
    const live = (await db.selectFrom('findings').select('source').where('model_name', '=', 'gov-ct').execute()).length;
    const sup = (await db.selectFrom('findings_superseded').select('seq').where('model_name', '=', 'gov-ct').execute()).length;
    const aft = (await db.selectFrom('findings_after_signoff').select('id').where('model_name', '=', 'gov-ct').execute()).length;
    expect(live + sup + aft).toBe(r.produced);
    const all = (await db.selectFrom('findings').select('id').where('source', '!=', 'radiologist').execute()).length + (await db.selectFrom('findings_superseded').select('seq').execute()).length + (await db.selectFrom('findings_after_signoff').select('id').execute()).length;
    expect(f.totals.produced).toBe(all);

    const silent = f.summary.find((x) => x.model === 'gov-cr')!;
    expect(silent).toMatchObject({ version: '2', mode: 'silent', modality: 'CR', produced: 1, shown: 0, utilisation: null });
    expect(silent.states['hidden-rollout'].unverified).toBe(1);

    // The weekly rows: this all happened this week.
    const weekly = f.rows.filter((x: FigureRow) => x.model === 'gov-ct');
    expect(weekly.length).toBe(1);
    expect(weekly[0].week).toMatch(/^\d{4}-W\d{2}$/);
    expect(weekly[0].produced).toBe(9);
  });

  it('the CSV export carries the same numbers, one line per row', async () => {
    const res = await c.gus.fetch('/api/governance/figures.csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toContain('attachment');
    const [head, ...lines] = (await res.text()).trim().split('\n');
    const cols = head.split(',');
    const row = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v]))).find((x) => x.model === 'gov-ct')!;
    expect(row).toMatchObject({ version: '1.0', mode: 'assistive', modality: 'CT', produced: '9', shown: '7', superseded: '1', 'after-signoff': '1' });
    expect(row['rejected_false-positive']).toBe('2');
    expect(Number(row.false_positive_rate)).toBeCloseTo(2 / 7, 5);
  });

  it('the gateway records its own health (gateway, PACS) from the start; uptime comes from those records', async () => {
    const rows = await stack.gateway.store.db.selectFrom('governance_health').selectAll().execute();
    expect(rows.find((r) => r.component === 'gateway')?.ok).toBe(1);
    expect(rows.find((r) => r.component === 'pacs')?.ok).toBe(1);
    const f = await c.gus.json<Figures>('/api/governance/figures');
    const now = f.gatewayUptime.at(-1)!;
    expect(now.uptime).not.toBeNull();
    expect(now.uptime!).toBeGreaterThan(0);
  });

  it('alert rules: stored as versioned settings; a model leaving a range notifies admin and governance (in-app notice + audit), once', async () => {
    const put = (cl: Client, body: unknown) => cl.fetch('/api/governance/rules', { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const initial = await c.gus.json<{ version: number; rules: AlertRules }>('/api/governance/rules');
    expect(initial).toMatchObject({ version: 0, rules: DEFAULT_ALERT_RULES });
    expect((await put(c.rita, { rules: DEFAULT_ALERT_RULES })).status).toBe(403);
    const bad = await put(c.gus, { rules: { ...DEFAULT_ALERT_RULES, utilisation: { min: 0.9, max: 0.6 } } });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain('rules.utilisation.min');
    // With the defaults the gov-ct week is too small a sample (minSample 20): nothing is judged.
    expect((await c.gus.json<{ notices: unknown[] }>('/api/governance/notices')).notices).toEqual([]);

    // minSample 1: gov-ct's week has FP 2/7 = 28.6 % (retraining, above 15 %), sensitivity 1/2 (below 98 %), utilisation 1/1 (above 85 %).
    const r = await put(c.gus, { rules: { ...DEFAULT_ALERT_RULES, minSample: 1 }, baseVersion: 0 });
    expect(r.status, await r.clone().text()).toBe(200);
    const saved = (await r.json()) as { version: number; raised: number };
    expect(saved.version).toBeGreaterThan(0);
    const notices = (await c.ada.json<{ notices: Notice[] }>('/api/governance/notices')).notices.filter((n) => n.model === 'gov-ct');
    expect(notices.map((n) => `${n.metric}:${n.kind}`).sort()).toEqual(['criticalSensitivity:below', 'falsePositiveRate:retrain', 'utilisation:above']);
    expect(notices.find((n) => n.metric === 'falsePositiveRate')!.value).toBeCloseTo(2 / 7, 6);
    expect(notices.find((n) => n.metric === 'falsePositiveRate')!.message).toContain('retraining');
    // The silent model is not judged on shown-based figures (nothing shown).
    expect((await c.gus.json<{ notices: Notice[] }>('/api/governance/notices')).notices.filter((n) => n.model === 'gov-cr')).toEqual([]);

    const db = stack.gateway.store.db;
    const audited = (await db.selectFrom('audit').select(['actor', 'detail']).where('action', '=', 'governance-alert-raised').execute()).map((a) => JSON.parse(a.detail!));
    expect(audited.filter((d) => d.model === 'gov-ct').map((d) => `${d.metric}:${d.kind}`).sort()).toEqual(['criticalSensitivity:below', 'falsePositiveRate:retrain', 'utilisation:above']);
    expect(audited[0].notified).toEqual(['ai-governance', 'admin']);
    const changed = (await db.selectFrom('audit').select('detail').where('action', '=', 'settings-changed').execute()).map((a) => JSON.parse(a.detail!)).filter((d) => d.setting === 'governance-alert-rules');
    expect(changed.length).toBe(1);
    expect(changed[0].after.minSample).toBe(1);

    // Stale edit refused; the same rules again raise nothing new (one notice per breach).
    expect((await put(c.gus, { rules: DEFAULT_ALERT_RULES, baseVersion: 0 })).status).toBe(409);
    const again = (await (await put(c.ada, { rules: { ...DEFAULT_ALERT_RULES, minSample: 1 } })).json()) as { raised: number; breaches: number };
    expect(again.raised).toBe(0);
    expect(again.breaches).toBeGreaterThanOrEqual(3);

    const key = notices.find((n) => n.metric === 'falsePositiveRate')!.key;
    // A rules change and an acknowledgement each commit with their audit record: with the audit refusing
    // records, neither is kept.
    await whileAuditRefused(db, async () => {
      expect((await put(c.gus, { rules: { ...DEFAULT_ALERT_RULES, minSample: 2 } })).status).toBe(500);
      expect((await c.gus.post(`/api/governance/notices/${encodeURIComponent(key)}/ack`, {})).status).toBe(500);
    });
    expect((await c.gus.json<{ rules: AlertRules }>('/api/governance/rules')).rules.minSample).toBe(1);
    expect((await c.gus.json<{ notices: Notice[] }>('/api/governance/notices')).notices.some((n) => n.key === key)).toBe(true);
    // Acknowledged by governance: gone from the open list, kept in the full one, audited.
    expect((await c.rita.post(`/api/governance/notices/${encodeURIComponent(key)}/ack`, {})).status).toBe(403);
    expect((await c.gus.post(`/api/governance/notices/${encodeURIComponent(key)}/ack`, {})).status).toBe(200);
    expect((await c.gus.post(`/api/governance/notices/${encodeURIComponent(key)}/ack`, {})).status).toBe(404);
    expect((await c.ada.json<{ notices: Notice[] }>('/api/governance/notices')).notices.map((n) => n.key)).not.toContain(key);
    expect((await c.ada.json<{ notices: Notice[] }>('/api/governance/notices?all=1')).notices.find((n) => n.key === key)?.ackedBy).toBe('gus');
    expect((await c.rita.fetch('/api/governance/notices')).status).toBe(403);
  });

  it('silent-mode evaluation against the final reads, and the threshold what-if replaying the stored confidences', async () => {
    // The chest CR is read: the radiologist finds the nodule the silent model had seen (0.95), and signs.
    const own = FindingSchema.parse({
      ...testFinding(CHEST, { type: { value: '427359005', scheme: 'SCT', meaning: 'Solitary nodule of lung' }, label: 'Nodule', severity: 'urgent', model: { name: 'radiologist', version: '1' } }),
      source: 'radiologist',
      status: 'accepted',
      verdict: { by: 'rita', role: 'radiologist', at: new Date().toISOString() },
    });
    await upsertFinding(stack.gateway.store.db, own);
    expect((await c.rita.post(`/api/studies/${CHEST}/signoff`, { confirmUnverified: true, confirmAiPending: true })).status).toBe(201);

    const { evaluations } = await c.gus.json<{ evaluations: Evaluation[] }>('/api/governance/evaluation');
    const silent = evaluations.find((e) => e.model === 'gov-cr')!;
    expect(silent).toMatchObject({ version: '2', mode: 'silent', signedStudies: 1 });
    expect(silent.asProduced).toMatchObject({ outputs: 1, truePositives: 1, falsePositives: 0, positives: 1, detected: 1, sensitivity: 1 });
    // gov-ct on the signed head CT: 7 live outputs, all ICH; B, C and p3 rejected (false positives); the read has ICH and the radiologist's pneumothorax.
    const ct = evaluations.find((e) => e.model === 'gov-ct')!;
    expect(ct.asProduced).toMatchObject({ outputs: 7, truePositives: 4, falsePositives: 3, positives: 2, detected: 1, sensitivity: 0.5, criticalPositives: 2, criticalDetected: 1 });

    const w = await c.gus.json<Evaluation>('/api/governance/what-if?model=gov-cr&version=2&mode=silent&threshold=0.96');
    expect(w.atThreshold).toMatchObject({ threshold: 0.96, outputs: 0, truePositives: 0, detected: 0, sensitivity: 0 });
    expect(w.delta).toEqual({ falsePositives: 0, truePositives: -1, sensitivity: -1, criticalSensitivity: null });
    expect(w.storedFrom).toBe(0.95);
    expect((await c.gus.fetch('/api/governance/what-if?model=gov-cr&version=2&threshold=2')).status).toBe(400);
    expect((await c.rita.fetch('/api/governance/what-if?model=gov-cr&version=2&threshold=0.5')).status).toBe(403);
    expect((await c.rita.fetch('/api/governance/evaluation')).status).toBe(403);
  });

  it('assessment SRs: each standing verdict as a DICOM SR referencing the AI result it assesses; validate-sr --ai passes', async () => {
    const db = stack.gateway.store.db;
    // The AI result SR the gateway stored for finding a (as the pre-read's outbox message records it).
    const aiSop = '2.25.4711001';
    const aiSeries = '2.25.4711002';
    const now = new Date().toISOString();
    await db
      .insertInto('outbox')
      .values({ kind: 'sr-stow', study_uid: HEAD_CT, dedupe_key: `sr:ai:test:${aiSop}`, message_id: aiSop, payload: JSON.stringify({ type: 'sr', kind: 'ai', studyInstanceUID: HEAD_CT, sopInstanceUID: aiSop, seriesInstanceUID: aiSeries, findings: [{ id: imported.a.id }] }), status: 'acknowledged', attempts: 1, next_attempt_at: now, last_error: null, created_at: now, updated_at: now })
      .execute();

    expect((await c.gus.fetch(`/api/governance/assessments?study=${HEAD_CT}`)).status).toBe(403); // PHI in the SR: admin only for now
    const list = (await c.ada.json<{ assessments: { seq: number; findingId: string; action: string; href: string }[] }>(`/api/governance/assessments?study=${HEAD_CT}`)).assessments;
    expect(list.map((a) => `${a.findingId}:${a.action}`)).toEqual([`${imported.a.id}:accept`, `${imported.b.id}:reject`, `${imported.c.id}:reject`, `${imported.d.id}:modify`, 'gov-p3:reject']);

    const dir = fs.mkdtempSync(path.join(tmp, 'assess-'));
    const files: string[] = [];
    for (const a of list.slice(0, 4)) {
      const r = await c.ada.fetch(a.href);
      expect(r.status, `${a.href} ${r.status === 200 ? '' : await r.clone().text()}`).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/dicom');
      const bytes = new Uint8Array(await r.arrayBuffer());
      const file = path.join(dir, `${a.seq}.dcm`);
      fs.writeFileSync(file, bytes);
      files.push(file);
      const ds = parseDicomPart10(bytes) as Record<string, unknown>;
      expect(ds.VerificationFlag).toBe('VERIFIED');
      expect(ds.SeriesDescription).toBe('AI RESULT ASSESSMENT');
      expect((ds.VerifyingObserverSequence as { VerifyingObserverName: unknown }[])[0]).toBeDefined();
      const evidence = JSON.stringify(ds.CurrentRequestedProcedureEvidenceSequence);
      expect(evidence).toContain(String(SLICE.SOPInstanceUID));
      // Only finding a's AI result SR is known: it is referenced as evidence of a's assessment, and of no other.
      expect(evidence.includes(aiSop), a.findingId).toBe(a.findingId === imported.a.id);
      // The same export twice is the same instance.
      expect(parseDicomPart10(new Uint8Array(await (await c.ada.fetch(a.href)).arrayBuffer())).SOPInstanceUID).toBe(ds.SOPInstanceUID);
    }
    // p3 marks an image that is not in the PACS: refused, not invented.
    expect((await c.ada.fetch(list[4].href)).status).toBe(409);
    expect((await c.ada.fetch('/api/governance/assessments/999999.dcm')).status).toBe(404);
    expect((await c.ada.fetch('/api/governance/assessments/..%2Fx.dcm')).status).toBe(400);
    const out = execFileSync(path.join(SHARED, 'tools', 'validate-sr'), ['--ai', ...files], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).not.toMatch(/\bError\b/);
    const audited = await db.selectFrom('audit').select('detail').where('action', '=', 'assessment-sr-exported').execute();
    expect(audited.length).toBe(8);
    expect(audited.map((x) => JSON.parse(x.detail!).aiResultReferenced).filter(Boolean).length).toBe(2);
  });

  it('drift: a model whose scores and scanners change from one week to the next is noticed (inputs read from the PACS headers)', async () => {
    const db = stack.gateway.store.db;
    const past = new Date(Date.now() - 14 * 86_400_000).toISOString();
    const drifting = (study: string, i: number, confidence: number, at: string) =>
      FindingSchema.parse({ ...testFinding(study, { model: { name: 'gov-drift', version: '1' }, severity: 'routine', confidence }), id: `gov-drift-${study.slice(-4)}-${i}`, source: 'preread', createdAt: at, ingestedBy: 'preread' });
    // Two weeks ago on the head CT: confident; this week on the chest CR: unsure.
    for (let i = 0; i < 5; i++) await upsertFinding(db, drifting(HEAD_CT, i, 0.95, past));
    for (let i = 0; i < 5; i++) await upsertFinding(db, drifting(CHEST, i, 0.3, new Date().toISOString()));
    const d = await c.gus.json<{ rows: DriftRow[] }>('/api/governance/drift');
    const rows = d.rows.filter((r) => r.model === 'gov-drift');
    expect(rows.length).toBe(2);
    expect(rows[0].outputs).toMatchObject({ n: 5, histogram: { '0.9–1.0': 5 }, distance: null });
    expect(rows[1].outputs).toMatchObject({ n: 5, histogram: { '0.3–0.4': 5 }, referenceN: 5 });
    expect(rows[1].outputs.distance).toBeCloseTo(1, 6);
    // The scanners, as the PACS headers say (one image per study).
    const ctHeader = SLICE as Record<string, unknown>;
    const ctScanner = [ctHeader.Manufacturer, ctHeader.ManufacturerModelName].filter(Boolean).join(' ');
    expect(Object.keys(rows[0].scanner.histogram)).toEqual([ctScanner || 'unknown']);
    expect(rows[1].scanner.distance).toBeCloseTo(1, 6);
    const inputs = await db.selectFrom('governance_inputs').selectAll().execute();
    expect(inputs.find((r) => r.study_uid === HEAD_CT)).toMatchObject({ state: 'read', slice_thickness: Number(ctHeader.SliceThickness) });

    const put = (body: unknown) => c.gus.fetch('/api/governance/rules', { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    expect((await put({ rules: { ...DEFAULT_ALERT_RULES, minSample: 1, driftMaxDistance: 0.5 } })).status).toBe(200);
    const notices = (await c.gus.json<{ notices: Notice[] }>('/api/governance/notices')).notices.filter((n) => n.model === 'gov-drift');
    expect(notices.map((n) => n.metric)).toEqual(expect.arrayContaining(['outputDrift', 'scannerDrift']));
    expect(notices.find((n) => n.metric === 'outputDrift')!.message).toContain('drifted');
    expect((await c.rita.fetch('/api/governance/drift')).status).toBe(403);
  });

  it('only governance.read roles (governance, admin) get the figures', async () => {
    expect((await c.ada.fetch('/api/governance/figures')).status).toBe(200);
    for (const u of ['rita', 'remy', 'erin', 'toby']) {
      expect((await c[u].fetch('/api/governance/figures')).status, u).toBe(403);
      expect((await c[u].fetch('/api/governance/figures.csv')).status, u).toBe(403);
    }
  });
});
