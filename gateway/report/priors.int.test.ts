/**
 * Priors and interval change through the HTTP API (real Orthanc): two head CTs of the same patient (built
 * from the shared slices, dated 2026-05-01 and 2026-12-01), each with a radiologist-accepted haemorrhage of
 * 6 mm and 9 mm. The later study's priors: the earlier one, relevant (same modality and body part), with its
 * signed report; the interval change "6 mm → 9 mm, +50 % since 2026-05-01".
 */
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startStack, login, waitFor, type Stack, type Client } from '../../test/harness.js';
import { readMeasurementReport } from '../../src/core/sr/reader.js';
import { buildHeadCtStudy, type BuiltStudy } from '../preread/study-builder.js';
import { parseDicomPart10 } from '../../src/core/sr/dicom.js';
import { acceptAll, draftFromFindings } from '../../src/core/report/draft.js';
import type { Finding } from '../../src/core/findings/finding.js';
import { uploadFiles } from '../../scripts/lib/orthanc.js';
import { handleInbound } from '../mllp/listener.js';
import { message, segment } from '../../src/core/hl7/codec.js';

let stack: Stack;
let rita: Client;
let prior: BuiltStudy;
let current: BuiltStudy;
let prevPreread: string | undefined;

function dated(b: BuiltStudy, da: string): void {
  execFileSync('dcmodify', ['-nb', '-m', `(0008,0020)=${da}`, ...b.files]);
}

function finding(b: BuiltStudy, id: string, widthMm: number) {
  const ds = parseDicomPart10(fs.readFileSync(b.files[0]));
  return {
    id, studyInstanceUID: b.studyInstanceUID, type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' }, label: 'Intracranial haemorrhage',
    confidence: 0.9, severity: 'critical', model: { name: 'ich-detector', version: '1.2.0', manufacturer: 'Reading Station Demo' },
    regions: [{ image: { seriesInstanceUID: String(ds.SeriesInstanceUID), sopInstanceUID: String(ds.SOPInstanceUID), sopClassUID: String(ds.SOPClassUID) }, box: { x: 200, y: 180, width: 20, height: 20 } }],
    measurements: [{ name: { value: '103355008', scheme: 'SCT', meaning: 'Width' }, value: widthMm, unit: { value: 'mm', scheme: 'UCUM', meaning: 'millimeter' } }],
  };
}

beforeAll(async () => {
  prevPreread = process.env.PREREAD;
  process.env.PREREAD = '0';
  prior = await buildHeadCtStudy({ slices: 2 });
  current = await buildHeadCtStudy({ slices: 2, firstSlice: 2 });
  dated(prior, '20260501');
  dated(current, '20261201');
  stack = await startStack({ files: [...prior.files, ...current.files] });
  rita = await login(stack.baseUrl, 'rita');
  // And an AI finding without any length measurement: its size comes from the box and the images' pixel spacing.
  const fracture = (b: BuiltStudy, id: string, px: number) => ({
    ...finding(b, id, 0), measurements: [], type: { value: '125605004', scheme: 'SCT', meaning: 'Fracture' }, label: 'Skull fracture', severity: 'urgent',
    regions: [{ ...finding(b, id, 0).regions[0], box: { x: 60, y: 60, width: px, height: px } }],
  });
  for (const [b, id, px] of [[prior, 'P-FX', 20], [current, 'C-FX', 30]] as const) {
    expect((await rita.post('/api/findings', [fracture(b, id, px)])).status).toBe(201);
    expect((await rita.post(`/api/findings/${id}/verdict`, { action: 'accept' })).status).toBe(200);
  }
  for (const [b, id, mm] of [[prior, 'P-ICH', 6], [current, 'C-ICH', 9]] as const) {
    const r = await rita.post('/api/findings', [finding(b, id, mm)]);
    expect(r.status, await r.clone().text()).toBe(201);
    expect((await rita.post(`/api/findings/${id}/verdict`, { action: 'accept' })).status).toBe(200);
  }
  // The prior is signed with its report.
  const { findings } = await rita.json<{ findings: Finding[] }>(`/api/studies/${prior.studyInstanceUID}/findings`);
  const draft = acceptAll(draftFromFindings(findings, 'head-ct-haemorrhage'));
  expect((await rita.fetch(`/api/studies/${prior.studyInstanceUID}/report`, { method: 'PUT', body: JSON.stringify({ draft }), headers: { 'content-type': 'application/json' } })).status).toBe(200);
  expect((await rita.post(`/api/studies/${prior.studyInstanceUID}/signoff`, {})).status).toBe(201);
}, 180_000);

const extra: BuiltStudy[] = [];
afterAll(async () => {
  for (const b of extra) b.remove();
  await stack?.stop();
  prior?.remove();
  current?.remove();
  if (prevPreread === undefined) delete process.env.PREREAD;
  else process.env.PREREAD = prevPreread;
});

describe('priors and interval change', () => {
  it('finds the earlier study of the same patient, relevant, with its signed report and the size change', async () => {
    const r = await rita.json<{ priors: { studyUID: string; date: string; relevant: boolean }[]; comparison: { studyUID: string; date: string; report: string | null; changes: { kind: string; pct?: number; sentence: string }[] } | null }>(
      `/api/studies/${current.studyInstanceUID}/priors`,
    );
    expect(r.priors.map((p) => [p.studyUID, p.date, p.relevant])).toEqual([[prior.studyInstanceUID, '2026-05-01', true]]);
    expect(r.comparison?.studyUID).toBe(prior.studyInstanceUID);
    expect(r.comparison?.report).toMatch(/IMPRESSION:/);
    const spacing = (parseDicomPart10(fs.readFileSync(current.files[0])).PixelSpacing as number[]).map(Number);
    const mm = (px: number) => `${Math.round(px * Math.max(spacing[0], spacing[1]) * 10) / 10} mm`;
    expect(r.comparison?.changes).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: 'larger', pct: 50, sentence: 'Intracranial haemorrhage 6 mm → 9 mm, +50 % since 2026-05-01.' }),
      expect.objectContaining({ kind: 'larger', pct: 50, sentence: `Skull fracture ${mm(20)} → ${mm(30)}, +50 % since 2026-05-01.` }),
    ]));
    expect(r.comparison?.changes).toHaveLength(2);
    // The prior has no prior of its own (the later study is not one).
    const back = await rita.json<{ priors: unknown[]; comparison: unknown }>(`/api/studies/${prior.studyInstanceUID}/priors`);
    expect(back.priors).toEqual([]);
    expect(back.comparison).toBeNull();
    // Signed, the current study's SR carries the prior's Tracking UID for the same lesion (longitudinal tracking).
    const { findings: curF } = await rita.json<{ findings: Finding[] }>(`/api/studies/${current.studyInstanceUID}/findings`);
    const d2 = acceptAll(draftFromFindings(curF, 'head-ct-haemorrhage'));
    expect((await rita.fetch(`/api/studies/${current.studyInstanceUID}/report`, { method: 'PUT', body: JSON.stringify({ draft: d2 }), headers: { 'content-type': 'application/json' } })).status).toBe(200);
    expect((await rita.post(`/api/studies/${current.studyInstanceUID}/signoff`, {})).status).toBe(201);
    stack.gateway.outbox.kick();
    const trackingOf = async (studyUID: string, findingId: string) => {
      const ids = (await (await stack.orthanc.rest('/tools/find', { method: 'POST', body: JSON.stringify({ Level: 'Instance', Query: { StudyInstanceUID: studyUID, Modality: 'SR' } }) })).json()) as string[];
      for (const id of ids) {
        const sr = readMeasurementReport(parseDicomPart10(Buffer.from(await (await stack.orthanc.rest(`/instances/${id}/file`)).arrayBuffer())));
        const f = sr.findings.find((x) => x.id === findingId);
        if (f?.trackingUID) return f.trackingUID;
      }
      return null;
    };
    const priorUid = await waitFor('the prior SR', () => trackingOf(prior.studyInstanceUID, 'P-ICH'), 60_000);
    const currentUid = await waitFor('the current SR', () => trackingOf(current.studyInstanceUID, 'C-ICH'), 60_000);
    expect(currentUid).toBe(priorUid);
    expect(await trackingOf(current.studyInstanceUID, 'C-FX')).toBe(await trackingOf(prior.studyInstanceUID, 'P-FX'));
    // Both studies now hold SRs (the verified ones): the body part still comes from their image series.
    // (Reported: once an SR was in a study, Orthanc's study-level Body Part Examined, read from one instance, was
    // empty, and relevance fell back to the description.)
    const again = await rita.json<{ priors: { studyUID: string; bodyPart: string; relevant: boolean; modalities: string[] }[] }>(`/api/studies/${current.studyInstanceUID}/priors`);
    expect(again.priors.map((p) => [p.studyUID, p.modalities.includes('SR'), p.bodyPart, p.relevant])).toEqual([[prior.studyInstanceUID, true, 'HEAD', true]]);
    // A technologist may not read reports.
    const toby = await login(stack.baseUrl, 'toby');
    expect((await toby.fetch(`/api/studies/${current.studyInstanceUID}/priors`)).status).toBe(403);
  });

  it('a prior read elsewhere: its report is the one the RIS sent (ORU^R01 on the MLLP listener), found by accession', async () => {
    const older = await buildHeadCtStudy({ slices: 1, firstSlice: 8, accessionNumber: 'ACC-RIS-PRIOR' });
    const later = await buildHeadCtStudy({ slices: 1, firstSlice: 9 });
    extra.push(older, later);
    execFileSync('dcmodify', ['-nb', '-m', '(0010,0020)=PAT-RIS', '-m', '(0008,0020)=20260301', ...older.files]);
    execFileSync('dcmodify', ['-nb', '-m', '(0010,0020)=PAT-RIS', '-m', '(0008,0020)=20261101', ...later.files]);
    await uploadFiles(stack.orthanc, [...older.files, ...later.files]);
    const obr = Array.from({ length: 25 }, () => null as string | null);
    obr[0] = '1'; obr[2] = 'ACC-RIS-PRIOR'; obr[24] = 'F';
    const oru = message([
      segment('MSH', ['RIS', 'HOSP', 'READING_STATION', 'RS', '20260301120000', null, ['ORU', 'R01', 'ORU_R01'], 'ORU-RIS-1', 'P', '2.5']),
      segment('PID', [1, null, ['PAT-RIS']]),
      segment('OBR', obr),
      segment('OBX', ['1', 'TX', ['18782-3', 'Radiology Study observation', 'LN'], '1', 'No acute intracranial abnormality (read at the other site).', null, null, null, null, null, 'F']),
    ]);
    expect((await handleInbound(stack.gateway.store.db, oru, null)).code).toBe('AA');
    const r = await rita.json<{ comparison: { studyUID: string; report: string | null; reportSource: string | null } | null }>(`/api/studies/${later.studyInstanceUID}/priors`);
    expect(r.comparison).toMatchObject({ studyUID: older.studyInstanceUID, reportSource: 'ris', report: 'No acute intracranial abnormality (read at the other site).' });
  }, 120_000);
});
