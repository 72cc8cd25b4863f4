/**
 * GET /api/studies/:study/objects against a real Orthanc holding a real SEG (pydicom-data liver.dcm,
 * SEMIAUTOMATIC "SlicerEditor") with the 3 CT slices it segments (dcmqi), and a real float parametric
 * map (highdicom) with its CT (pydicom CT_small): what each object is, what it refers to, who made it
 * (read from the content), and THE reader policy on the way out: AI disabled for the study, or the
 * algorithm's rollout switched off, and the object is no longer listed for the reader.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { startStack, login, type Client, type Stack } from '../../test/harness.js';
import { DICOM } from '../../scripts/lib/demo-data.js';
import { writeDicomPart10 } from '../../src/core/sr/dicom.js';
import { readSrSeries } from '../findings/sr-arrivals.js';

const PD = path.join(DICOM, 'pydicom-data', 'data_store', 'data');
const CT3 = path.join(DICOM, 'dcmqi', 'data', 'segmentations', 'ct-3slice');
const SEG_STUDY = '1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1';
const SEG_SOP = '1.2.276.0.7230010.3.1.4.0.42154.1458337731.665796';
const CT_SERIES = '1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1';
const PM_STUDY = '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322';

const FOR = '1.2.392.200103.20080913.113635.3.2009.6.22.21.44.34.23882.1';
const CT_SOP = (n: number) => `1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10.2343${n}.1`;

/**
 * A vendor's TID 1500 SR whose only region is a SCOORD3D square in patient coordinates, on the middle
 * slice of the dcmqi CT (z = −127.69; top-left pixel centre at x −235.2, y −226.8; 0.810547 mm pixels).
 */
function scoord3dSr(): Uint8Array {
  const code = (v: string, sch: string, m: string) => [{ CodeValue: v, CodingSchemeDesignator: sch, CodeMeaning: m }];
  const px = 0.810547, x0 = -235.199997, y0 = -226.800003, z = -127.690002;
  // Columns 100 … 140, rows 200 … 230 (corner convention: pixel centre = IPP + (i − 0.5) · spacing).
  const at = (c: number, r: number) => [x0 + (c - 0.5) * px, y0 + (r - 0.5) * px, z];
  const square = [at(100, 200), at(140, 200), at(140, 230), at(100, 230), at(100, 200)].flat();
  return writeDicomPart10({
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.34', SOPInstanceUID: '2.25.77001', StudyInstanceUID: SEG_STUDY, SeriesInstanceUID: '2.25.77000', Modality: 'SR',
    PatientName: 'JANCT000', PatientID: '99000', ValueType: 'CONTAINER', ConceptNameCodeSequence: code('126000', 'DCM', 'Imaging Measurement Report'),
    ContentSequence: [
      { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'CODE', ConceptNameCodeSequence: code('121005', 'DCM', 'Observer Type'), ConceptCodeSequence: code('121007', 'DCM', 'Device') },
      { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'TEXT', ConceptNameCodeSequence: code('121013', 'DCM', 'Device Observer Name'), TextValue: 'lesion-3d' },
      { RelationshipType: 'CONTAINS', ValueType: 'CONTAINER', ConceptNameCodeSequence: code('126010', 'DCM', 'Imaging Measurements'), ContentSequence: [{
        RelationshipType: 'CONTAINS', ValueType: 'CONTAINER', ConceptNameCodeSequence: code('125007', 'DCM', 'Measurement Group'), ContentSequence: [
          { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'TEXT', ConceptNameCodeSequence: code('112039', 'DCM', 'Tracking Identifier'), TextValue: 'L-1' },
          { RelationshipType: 'CONTAINS', ValueType: 'CODE', ConceptNameCodeSequence: code('121071', 'DCM', 'Finding'), ConceptCodeSequence: code('52988006', 'SCT', 'Lesion') },
          { RelationshipType: 'CONTAINS', ValueType: 'SCOORD3D', ConceptNameCodeSequence: code('111030', 'DCM', 'Image Region'), GraphicType: 'POLYLINE', GraphicData: square, ReferencedFrameOfReferenceUID: FOR },
          { RelationshipType: 'CONTAINS', ValueType: 'NUM', ConceptNameCodeSequence: code('111012', 'DCM', 'Certainty of Finding'), MeasuredValueSequence: [{ NumericValue: 80, MeasurementUnitsCodeSequence: code('%', 'UCUM', 'Percent') }] },
        ] }] },
    ],
  });
}

interface Listed { kind: string; sopInstanceUID: string; seriesInstanceUID: string; creator: { creator: string; name?: string; basis: string }; referencedSeries: { seriesInstanceUID: string; sopInstanceUIDs: string[] }[] }

let stack: Stack;
let rita: Client, remy: Client, ada: Client;
let prevPreread: string | undefined;
const list = async (c: Client, study: string) => ((await c.json<{ objects: Listed[] }>(`/api/studies/${study}/objects`)).objects);

beforeAll(async () => {
  prevPreread = process.env.PREREAD;
  process.env.PREREAD = '0';
  stack = await startStack({ files: [path.join(PD, 'liver.dcm'), ...['01.dcm', '02.dcm', '03.dcm'].map((f) => path.join(CT3, f)), path.join(PD, 'parametric_map_float.dcm'), path.join(DICOM, 'pydicom', 'test_files', 'CT_small.dcm')] });
  [rita, remy, ada] = await Promise.all(['rita', 'remy', 'ada'].map((u) => login(stack.baseUrl, u)));
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (prevPreread === undefined) delete process.env.PREREAD;
  else process.env.PREREAD = prevPreread;
});

describe('result objects of a study', () => {
  it('lists the SEG with its referenced series and the algorithm read from its segments', async () => {
    const objs = await list(rita, SEG_STUDY);
    expect(objs.map((o) => o.kind)).toEqual(['seg']);
    const seg = objs[0];
    expect(seg.sopInstanceUID).toBe(SEG_SOP);
    expect(seg.creator).toMatchObject({ creator: 'ai', name: 'SlicerEditor', basis: 'Segment Algorithm Type SEMIAUTOMATIC' });
    expect(seg.referencedSeries).toEqual([{ seriesInstanceUID: CT_SERIES, sopInstanceUIDs: expect.arrayContaining([expect.stringMatching(/\.2343[123]\.1$/)]) }]);
    expect(seg.referencedSeries[0].sopInstanceUIDs).toHaveLength(3);
  });

  it('lists the parametric map as made by software (no content creator)', async () => {
    const objs = await list(rita, PM_STUDY);
    expect(objs).toHaveLength(1);
    expect(objs[0]).toMatchObject({ kind: 'pmap', creator: { creator: 'ai', name: 'MyModel' } });
  });

  it('roles: a resident (minimum confidence, severities) gets no AI object; an admin may not ask', async () => {
    expect(await list(remy, SEG_STUDY)).toEqual([]);
    expect((await ada.fetch(`/api/studies/${SEG_STUDY}/objects`)).status).toBe(403);
    expect((await rita.fetch('/api/studies/not-a-uid/objects')).status).toBe(400);
  });

  it('AI disabled for the study: the AI SEG is not listed; re-enabled: it is back', async () => {
    const off = await rita.post(`/api/studies/${SEG_STUDY}/ai-disabled`, { reason: 'patient-declined' });
    expect(off.status).toBeLessThan(300);
    expect(await list(rita, SEG_STUDY)).toEqual([]);
    expect((await rita.fetch(`/api/studies/${SEG_STUDY}/ai-disabled`, { method: 'DELETE' })).status).toBeLessThan(300);
    expect((await list(rita, SEG_STUDY)).map((o) => o.kind)).toEqual(['seg']);
  });

  it('the same policy on the DICOMweb proxy: a hidden SEG cannot be fetched by its UIDs; metadata and searches come without it; images still do', async () => {
    type J = Record<string, { Value?: unknown[] }>;
    const [seg] = await list(rita, SEG_STUDY);
    const inst = `/dicom-web/studies/${SEG_STUDY}/series/${seg.seriesInstanceUID}/instances/${SEG_SOP}`;
    const sops = async (c: Client, p: string) => (await c.json<J[]>(p)).map((j) => j['00080018']?.Value?.[0]);
    const seriesOf = async (c: Client) => (await c.json<J[]>(`/dicom-web/studies/${SEG_STUDY}/series`)).map((j) => j['0020000E']?.Value?.[0]);
    const ctFrame = `/dicom-web/studies/${SEG_STUDY}/series/${CT_SERIES}/instances/${CT_SOP(1)}/frames/1`;
    // Visible: the proxy hands it out as before.
    expect((await rita.fetch(`${inst}/metadata`)).status).toBe(200);
    expect(await sops(rita, `/dicom-web/studies/${SEG_STUDY}/metadata`)).toContain(SEG_SOP);
    // A resident's policy hides AI objects: not listed, and not fetchable either.
    expect((await remy.fetch(`${inst}/metadata`)).status).toBe(403);
    expect(await sops(remy, `/dicom-web/studies/${SEG_STUDY}/metadata`)).not.toContain(SEG_SOP);
    // AI disabled for the study: hidden from the radiologist on every DICOMweb path that names it.
    expect((await rita.post(`/api/studies/${SEG_STUDY}/ai-disabled`, { reason: 'patient-declined' })).status).toBeLessThan(300);
    for (const p of [`${inst}/metadata`, inst, `${inst}/frames/1`, `/dicom-web/studies/${SEG_STUDY}/series/${seg.seriesInstanceUID}`, `/dicom-web/studies/${SEG_STUDY}`]) {
      expect((await rita.fetch(p, { headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } })).status, p).toBe(403);
    }
    const meta = await sops(rita, `/dicom-web/studies/${SEG_STUDY}/metadata`);
    expect(meta).not.toContain(SEG_SOP);
    expect(meta).toContain(CT_SOP(1));
    expect(await sops(rita, `/dicom-web/studies/${SEG_STUDY}/instances`)).not.toContain(SEG_SOP);
    expect(await seriesOf(rita)).toEqual([CT_SERIES]);
    expect((await rita.fetch(ctFrame, { headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } })).status).toBe(200);
    // Re-enabled: back at once.
    expect((await rita.fetch(`/api/studies/${SEG_STUDY}/ai-disabled`, { method: 'DELETE' })).status).toBeLessThan(300);
    expect((await rita.fetch(`${inst}/metadata`)).status).toBe(200);
    expect((await seriesOf(rita)).sort()).toEqual([CT_SERIES, seg.seriesInstanceUID].sort());
  });

  it("the algorithm's rollout switched off: its objects are not listed, other studies' objects still are", async () => {
    const r = await ada.fetch('/api/admin/models/slicereditor/rollout', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'off' }) });
    expect(r.status).toBe(200);
    expect(await list(rita, SEG_STUDY)).toEqual([]);
    expect(await list(rita, PM_STUDY)).toHaveLength(1);
    await ada.fetch('/api/admin/models/slicereditor/rollout', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'assistive' }) });
    expect(await list(rita, SEG_STUDY)).toHaveLength(1);
  });

  it('an SR whose region is SCOORD3D: the server maps it through the study geometry; the finding lands as a box on the slice', async () => {
    const up = await stack.orthanc.rest('/instances', { method: 'POST', body: Buffer.from(scoord3dSr()), headers: { 'content-type': 'application/dicom' } });
    expect(up.status).toBe(200);
    const { ParentSeries } = (await up.json()) as { ParentSeries: string };
    expect(await readSrSeries({ db: stack.gateway.ctx.db, orthanc: stack.gateway.ctx.orthanc }, ParentSeries)).toEqual(['2.25.77001']);
    const { findings } = await rita.json<{ findings: { model: { name: string }; regions: { image: { sopInstanceUID: string }; box?: { x: number; y: number; width: number; height: number } }[] }[] }>(`/api/studies/${SEG_STUDY}/findings`);
    const f = findings.find((x) => x.model.name === 'lesion-3d')!;
    expect(f.regions).toHaveLength(1);
    expect(f.regions[0].image.sopInstanceUID).toBe(CT_SOP(2));
    const b = f.regions[0].box!;
    expect([b.x, b.y, b.width, b.height].map((v) => Math.round(v * 1000) / 1000)).toEqual([100, 200, 40, 30]);
    // The SR was read into findings: the objects list says so (the viewer shows it as findings, not as a tree).
    const sr = (await list(rita, SEG_STUDY)).find((o) => o.kind === 'sr') as (Listed & { ingestedAsFindings: boolean }) | undefined;
    expect(sr).toMatchObject({ creator: { creator: 'ai', name: 'lesion-3d' }, ingestedAsFindings: true });
  });
});
