/**
 * The opening frame, chosen next to the PACS: real Orthanc, real gateway, the real head CT.
 * Which slice opens is checked against positions read from the files by dcmjs, and the bytes
 * against Orthanc's own WADO-RS frame, not against the code under test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, login, type Stack, type Client } from '../../test/harness.js';
import { slicePositions } from '../../test/positions.js';
import { CHEST_CR, headCtFiles } from '../../scripts/lib/demo-data.js';
import { singlePart } from '../../src/core/dicomweb/multipart.js';

const HEAD_CT_STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const CR_STUDY = '1.2.392.200036.9125.0.199302241758.16';

let stack: Stack;
let rita: Client;

beforeAll(async () => {
  stack = await startStack({ files: [...headCtFiles(), CHEST_CR] });
  rita = await login(stack.baseUrl, 'rita');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('GET /api/studies/:uid/first-image', () => {
  it('answers the first slice in anatomical order, byte for byte the WADO-RS frame, with its display fields', async () => {
    const r = await rita.fetch(`/api/studies/${HEAD_CT_STUDY}/first-image`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1');
    const path = r.headers.get('x-frame-path')!;
    const sop = /\/instances\/([0-9.]+)\/frames\/1$/.exec(path)?.[1];
    const pos = slicePositions(headCtFiles());
    const lowest = [...pos.entries()].sort((a, b) => a[1] - b[1])[0][0];
    expect(sop).toBe(lowest);
    const info = JSON.parse(decodeURIComponent(r.headers.get('x-preview-info')!));
    expect(info).toMatchObject({ rows: 512, columns: 512, bitsAllocated: 16, photometric: 'MONOCHROME2', modality: 'CT', windowCenter: [35], windowWidth: [100] });
    const body = new Uint8Array(await r.arrayBuffer());
    expect(body.length).toBe(512 * 512 * 2);
    const wado = await rita.fetch(`/dicom-web${path}`, { headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } });
    const frame = singlePart(new Uint8Array(await wado.arrayBuffer()), wado.headers.get('content-type')!).bytes;
    expect(Buffer.compare(Buffer.from(body), Buffer.from(frame))).toBe(0);
  });

  it('gives the chest CR as MONOCHROME1 so the preview can show it as a film', async () => {
    const r = await rita.fetch(`/api/studies/${CR_STUDY}/first-image`);
    expect(r.status).toBe(200);
    expect(JSON.parse(decodeURIComponent(r.headers.get('x-preview-info')!))).toMatchObject({ photometric: 'MONOCHROME1', modality: 'CR' });
  });

  it('refuses without a session, rejects a malformed UID, and says when the study is not there', async () => {
    expect((await fetch(`${stack.baseUrl}/api/studies/${HEAD_CT_STUDY}/first-image`)).status).toBe(401);
    const bad = await rita.fetch('/api/studies/1.2.abc/first-image');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/DICOM UID/);
    const gone = await rita.fetch('/api/studies/1.2.3.4.5.6.7/first-image');
    expect(gone.status).toBe(404);
  });

  it('is refused to a role that does not read images', async () => {
    const gus = await login(stack.baseUrl, 'gus');
    expect((await gus.fetch(`/api/studies/${HEAD_CT_STUDY}/first-image`)).status).toBe(403);
  });
});
