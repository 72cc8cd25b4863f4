/**
 * The opening stream, chosen next to the PACS: real Orthanc, real gateway, the real head CT.
 * The slice order is checked against positions read from the files by dcmjs, and the bytes
 * against Orthanc's own WADO-RS frames, not against the code under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { slicePositions } from '../../test/positions.js';
import { uploadFiles } from '../../scripts/lib/orthanc.js';
import { CHEST_CR, DICOM, HEAD_CT_DIR, headCtFiles } from '../../scripts/lib/demo-data.js';
import { uidFor } from '../../scripts/lib/demo-studies.js';
import { firstImageOf } from '../../src/core/imaging/stack.js';
import type { DicomJson } from '../../src/core/imaging/dicomJson.js';
import { singlePart } from '../../src/core/dicomweb/multipart.js';
import { boundaryOf, readParts, type Part } from '../../src/core/dicomweb/partStream.js';

const HEAD_CT_STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const CR_STUDY = '1.2.392.200036.9125.0.199302241758.16';

let stack: Stack;
let rita: Client;
let work: string;

/**
 * A study whose image series also holds an SR stored first (as some systems do): Orthanc's index
 * cannot tell the SR from a slice by position, so the opening falls back to the whole metadata.
 */
const MIXED_STUDY = uidFor('opening-int/mixed/study');
const MULTIFRAME = path.join(DICOM, 'pydicom-data', 'data_store', 'data', 'emri_small.dcm');
function mixedStudy(): string[] {
  const stamp = (dest: string, sop: string) =>
    execFileSync('dcmodify', ['-nb', '-i', '(0010,0020)=OPENING', '-i', `(0020,000D)=${MIXED_STUDY}`, '-i', `(0020,000E)=${uidFor('opening-int/mixed/series')}`, '-i', `(0008,0018)=${uidFor(`opening-int/mixed/${sop}`)}`, dest]);
  const out: string[] = [];
  const sr = path.join(work, 'sr.dcm');
  fs.copyFileSync(path.join(DICOM, 'pydicom', 'test_files', 'test-SR.dcm'), sr);
  fs.chmodSync(sr, 0o644);
  stamp(sr, 'sr');
  out.push(sr);
  for (const f of ['10.dcm', '11.dcm', '12.dcm']) {
    const dest = path.join(work, f);
    fs.copyFileSync(path.join(HEAD_CT_DIR, f), dest);
    fs.chmodSync(dest, 0o644);
    stamp(dest, f);
    out.push(dest);
  }
  return out;
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-opening-'));
  stack = await startStack({ files: [...headCtFiles(), CHEST_CR, MULTIFRAME, ...mixedStudy()] });
  rita = await login(stack.baseUrl, 'rita');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The opening order as the viewer's rule gives it from the study's whole WADO-RS metadata (through the proxy). */
async function orderFromMetadata(study: string): Promise<string[]> {
  const r = await rita.fetch(`/dicom-web/studies/${study}/metadata`, { headers: { accept: 'application/dicom+json' } });
  expect(r.status).toBe(200);
  return firstImageOf(study, (await r.json()) as DicomJson[])!.entries.map((e) => `/studies/${study}/series/${e.seriesInstanceUID}/instances/${e.sopInstanceUID}/frames/${e.frameNumber}`);
}

async function opening(study: string): Promise<{ status: number; parts: Part[]; manifest: { frames: string[]; preview: Record<string, unknown>; source: string } }> {
  const r = await rita.fetch(`/api/studies/${study}/opening`);
  const parts: Part[] = [];
  if (r.status === 200) for await (const p of readParts(r.body!, boundaryOf(r.headers.get('content-type'))!)) parts.push(p);
  return { status: r.status, parts, manifest: parts.length ? JSON.parse(new TextDecoder().decode(parts[0].body)) : null };
}

describe('GET /api/studies/:uid/opening', () => {
  it('streams the opening series in anatomical order, each frame byte for byte the WADO-RS frame, with the display fields', async () => {
    const { status, parts, manifest } = await opening(HEAD_CT_STUDY);
    expect(status).toBe(200);
    expect(manifest.frames).toHaveLength(28);
    expect(parts).toHaveLength(29);
    // Ordered from Orthanc's index, without parsing the study's files, and equal to the whole metadata's order.
    expect(manifest.source).toBe('index');
    expect(manifest.frames).toEqual(await orderFromMetadata(HEAD_CT_STUDY));
    const pos = slicePositions(headCtFiles());
    const sops = manifest.frames.map((p) => /\/instances\/([0-9.]+)\/frames\/1$/.exec(p)![1]);
    const seen = sops.map((s) => pos.get(s)!);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
    expect(manifest.preview).toMatchObject({ rows: 512, columns: 512, bitsAllocated: 16, photometric: 'MONOCHROME2', modality: 'CT', windowCenter: [35], windowWidth: [100] });
    // Frames in the manifest's order, each labelled with its WADO-RS location and syntax.
    expect(parts.slice(1).map((p) => p.headers['content-location'])).toEqual(manifest.frames.map((f) => `/dicom-web${f}`));
    for (const i of [1, 14, 28]) {
      const p = parts[i];
      expect(p.headers['content-type']).toBe('application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1');
      expect(p.body.length).toBe(512 * 512 * 2);
      const wado = await rita.fetch(p.headers['content-location'], { headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } });
      const frame = singlePart(new Uint8Array(await wado.arrayBuffer()), wado.headers.get('content-type')!).bytes;
      expect(Buffer.compare(Buffer.from(p.body), Buffer.from(frame))).toBe(0);
    }
  });

  it('gives the chest CR as MONOCHROME1 so the preview can show it as a film', async () => {
    const { status, manifest } = await opening(CR_STUDY);
    expect(status).toBe(200);
    expect(manifest.preview).toMatchObject({ photometric: 'MONOCHROME1', modality: 'CR' });
    // A radiograph has no plane position in the index: the whole metadata decides.
    expect(manifest.source).toBe('metadata');
  });

  it('falls back to the whole metadata where the index cannot order: an SR stored first among the slices, a multi-frame image', async () => {
    const mixed = await opening(MIXED_STUDY);
    expect(mixed.status).toBe(200);
    expect(mixed.manifest.source).toBe('metadata');
    expect(mixed.manifest.frames).toHaveLength(3);
    expect(mixed.manifest.frames.some((f) => f.includes(uidFor('opening-int/mixed/sr')))).toBe(false);
    expect(mixed.manifest.frames).toEqual(await orderFromMetadata(MIXED_STUDY));
    const mfStudy = execFileSync('dcmdump', ['+P', '0020,000d', MULTIFRAME], { encoding: 'utf8' }).match(/\[([0-9.]+)\]/)![1];
    const mf = await opening(mfStudy);
    expect(mf.status).toBe(200);
    expect(mf.manifest.source).toBe('metadata');
    expect(mf.manifest.frames.length).toBeGreaterThan(1);
    expect(mf.manifest.frames).toEqual(await orderFromMetadata(mfStudy));
  });

  it('refuses without a session, rejects a malformed UID, and says when the study is not there', async () => {
    expect((await fetch(`${stack.baseUrl}/api/studies/${HEAD_CT_STUDY}/opening`)).status).toBe(401);
    const bad = await rita.fetch('/api/studies/1.2.abc/opening');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/DICOM UID/);
    const gone = await rita.fetch('/api/studies/1.2.3.4.5.6.7/opening');
    expect(gone.status).toBe(404);
  });

  it('is refused to a role that does not read images', async () => {
    const gus = await login(stack.baseUrl, 'gus');
    expect((await gus.fetch(`/api/studies/${HEAD_CT_STUDY}/opening`)).status).toBe(403);
  });

  it('a re-open of an unchanged series gives the same order (kept per series version); a slice added later is in the next one, in place', async () => {
    const before = await opening(HEAD_CT_STUDY);
    const again = await opening(HEAD_CT_STUDY);
    expect(again.manifest.source).toBe('index');
    expect(again.manifest.frames).toEqual(before.manifest.frames);
    // A 29th slice arrives in the same series: a copy of one slice with its own SOP Instance UID, placed
    // 200 mm along z beyond it (so it has a place of its own in the order).
    const added = path.join(work, 'added.dcm');
    fs.copyFileSync(path.join(HEAD_CT_DIR, '05.dcm'), added);
    fs.chmodSync(added, 0o644);
    const ipp = execFileSync('dcmdump', ['+P', '0020,0032', added], { encoding: 'utf8' }).match(/\[([^\]]+)\]/)![1].split('\\').map(Number);
    const sop = uidFor('opening-int/added-slice');
    execFileSync('dcmodify', ['-nb', '-i', `(0008,0018)=${sop}`, '-i', `(0020,0032)=${ipp[0]}\\${ipp[1]}\\${ipp[2] + 200}`, added]);
    await uploadFiles(stack.orthanc, [added]);
    const after = await opening(HEAD_CT_STUDY);
    expect(after.manifest.source).toBe('index');
    expect(after.manifest.frames).toHaveLength(29);
    expect(after.manifest.frames.some((f) => f.includes(`/instances/${sop}/`))).toBe(true);
    expect(after.manifest.frames).toEqual(await orderFromMetadata(HEAD_CT_STUDY));
  });
});
