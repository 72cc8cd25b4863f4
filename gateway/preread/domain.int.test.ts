/**
 * The domain guard on the server (issue 18 item 3): series that pass the header rule or fail it, read
 * by the real pre-read (real Orthanc, storescu, the real model in worker threads). Variants are made
 * from the shared head CT in a temp dir: a perfusion-map-like series (values rescaled to 0-150, no
 * air: what a CBF map looks like, still labelled ORIGINAL), a phantom (a uniform water cylinder
 * written over the pixels with dcmjs) and a derived series (dcmodify ImageType DERIVED\SECONDARY).
 * Each ends "outside the model's domain" (or outside its input domain, for the header) with its
 * reason, no findings, audited; the unmodified shared head CT stays inside (arrival.int.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startStack, login, waitFor, type Stack, type Client } from '../../test/harness.js';
import { buildHeadCtStudy, cStore, type BuiltStudy } from './study-builder.js';
import { findingsForStudy } from '../findings/repository.js';
import type { StudyPreread } from './service.js';
// @ts-ignore dcmjs has no type declarations
import * as dcmjsNs from 'dcmjs';

type Dcmjs = {
  data: {
    DicomMessage: { readFile(b: ArrayBuffer): { dict: object; write(): ArrayBuffer } };
    DicomMetaDictionary: { naturalizeDataset(d: object): Record<string, unknown>; denaturalizeDataset(d: object): object };
  };
};
const dcmjs: Dcmjs = (dcmjsNs as unknown as Dcmjs).data ? (dcmjsNs as unknown as Dcmjs) : (dcmjsNs as unknown as { default: Dcmjs }).default;
const run = promisify(execFile);
// dcmjs names every GE private tag it does not know on the console: not news here.
(dcmjsNs as unknown as { log?: { setLevel?: (l: string) => void }; default?: { log?: { setLevel?: (l: string) => void } } }).log?.setLevel?.('error');
(dcmjsNs as unknown as { default?: { log?: { setLevel?: (l: string) => void } } }).default?.log?.setLevel?.('error');

let stack: Stack;
let rita: Client;

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '100';
  stack = await startStack();
  rita = await login(stack.baseUrl, 'rita');
});

afterAll(async () => {
  await stack?.stop();
});

/** Overwrites each file's pixels with a uniform water cylinder (0 HU, radius 180 px) in air, with dcmjs. */
function writePhantom(files: string[]): void {
  for (const f of files) {
    const b = fs.readFileSync(f);
    const msg = dcmjs.data.DicomMessage.readFile(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(msg.dict);
    const rows = Number(ds.Rows);
    const cols = Number(ds.Columns);
    const slope = Number(ds.RescaleSlope ?? 1);
    const intercept = Number(ds.RescaleIntercept ?? 0);
    const px = new Int16Array(rows * cols);
    for (let y = 0; y < rows; y++)
      for (let x = 0; x < cols; x++) px[y * cols + x] = Math.round(((Math.hypot(x - cols / 2, y - rows / 2) < 180 ? 0 : -1000) - intercept) / slope);
    ds.PixelData = [px.buffer];
    ds.PixelRepresentation = 1;
    msg.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(ds);
    fs.writeFileSync(f, Buffer.from(msg.write()));
  }
}

const state = (uid: string) => rita.fetch(`/api/studies/${uid}/preread`).then(async (r) => (r.ok ? ((await r.json()) as StudyPreread) : null));

async function settled(s: BuiltStudy): Promise<StudyPreread> {
  await cStore(s.files, { port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
  return waitFor('pre-read settled', async () => {
    const st = await state(s.studyInstanceUID);
    return st && (st.aiState === 'done' || st.aiState === 'skipped') && st.jobs.every((j) => j.state === 'done') ? st : null;
  }, 60_000, 200);
}

async function expectOutside(s: BuiltStudy, reason: RegExp): Promise<void> {
  const st = await settled(s);
  expect(st.jobs).toHaveLength(1);
  expect(st.jobs[0]).toMatchObject({ model: 'head-ct-hyperdensity', state: 'done', findingsCount: 0 });
  expect(st.jobs[0].outcome).toMatch(reason);
  expect(st.priority).toBe('none');
  expect(st.reason).toBe(st.jobs[0].outcome);
  expect((await findingsForStudy(stack.gateway.store.db, s.studyInstanceUID)).filter((f) => f.source === 'preread')).toEqual([]);
  const audit = await stack.gateway.store.db.selectFrom('audit').select(['action', 'detail']).where('study_uid', '=', s.studyInstanceUID).execute();
  const outside = audit.filter((a) => a.action === 'preread-outside-domain');
  expect(outside).toHaveLength(1);
  expect(JSON.parse(outside[0].detail!).reason).toBe(st.jobs[0].outcome);
  expect(audit.some((a) => a.action === 'preread-early-flag')).toBe(false);
  const triage = await rita.json<{ studies: Record<string, { priority: string; reason: string }> }>('/api/triage');
  expect(triage.studies[s.studyInstanceUID]).toMatchObject({ priority: 'none', reason: st.jobs[0].outcome });
}

describe("outside the model's domain, on the server", () => {
  it('a perfusion-map-like series (values 0-150, no air; ImageType still ORIGINAL): no findings, the reason, audited', async () => {
    // The held-out lesions are painted in: inside the domain the model would flag this study.
    const s = await buildHeadCtStudy({ patientAge: '050Y', slices: 6, firstSlice: 6, lesions: true });
    try {
      await run('dcmodify', ['-nb', '-m', '(0028,1053)=0.05', '-m', '(0028,1052)=0', ...s.files]);
      await expectOutside(s, /^outside the model's domain: air \(-2048\.\.-500 HU\) is 0% of the image, expected at least 5%/);
    } finally {
      s.remove();
    }
  });

  it('a phantom (uniform water cylinder written with dcmjs): no skull, no findings', async () => {
    const s = await buildHeadCtStudy({ patientAge: '050Y', slices: 6, firstSlice: 6 });
    try {
      writePhantom(s.files);
      await expectOutside(s, /^outside the model's domain: bone \(300\.\.4095 HU\) is 0% of the body, expected at least 2%/);
    } finally {
      s.remove();
    }
  });

  it('a derived series (ImageType DERIVED\\SECONDARY): nothing queued, not one instance read, the reason on the study', async () => {
    const s = await buildHeadCtStudy({ patientAge: '050Y', slices: 6, firstSlice: 6, lesions: true });
    try {
      await run('dcmodify', ['-nb', '-m', '(0008,0008)=DERIVED\\SECONDARY\\AXIAL', ...s.files]);
      const st = await settled(s);
      expect(st.jobs).toEqual([]);
      expect(st.aiState).toBe('skipped');
      expect(st.reason).toMatch(/outside input domain: image type DERIVED\\SECONDARY\\AXIAL is not ORIGINAL\\PRIMARY/);
      const reads = await stack.gateway.store.db.selectFrom('preread_slices').select('id').where('study_uid', '=', s.studyInstanceUID).execute();
      expect(reads).toEqual([]);
      expect((await findingsForStudy(stack.gateway.store.db, s.studyInstanceUID)).filter((f) => f.source === 'preread')).toEqual([]);
    } finally {
      s.remove();
    }
  });
});
