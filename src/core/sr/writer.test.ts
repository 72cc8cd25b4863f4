import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { DICOM, HEAD_CT_DIR } from '../../../scripts/lib/demo-data.js';
import { parseDicomPart10, writeDicomPart10, dcmjs, type Dataset } from './dicom.js';
import { buildMeasurementReport, studyFromDataset, SrInputError, trackingUidOf, type SrDocumentInput } from './writer.js';
import { readMeasurementReport, items, polylineAsBox } from './reader.js';
import { sampleFindings, reviewedFindings, sampleMeasurements, DEMO_MODEL } from './testing.js';
import { measurementTrackingUid, toImagePoint } from './readerMeasurements.js';
import type { Finding } from '../findings/finding.js';

const CT = parseDicomPart10(fs.readFileSync(path.join(HEAD_CT_DIR, '05.dcm')));
const ENHANCED_CT = parseDicomPart10(fs.readFileSync(path.join(DICOM, 'pydicom-data', 'data_store', 'data', 'eCT_Supplemental.dcm')));
const SIGNER = { name: 'Reader^Rita^^Dr.', organization: 'Demo Hospital', at: '2026-11-25T10:05:00Z' };

export function aiInput(src: Dataset, findings: Finding[]): SrDocumentInput {
  return { kind: 'ai', findings, study: studyFromDataset(src), model: DEMO_MODEL, sopInstanceUID: '2.25.11', seriesInstanceUID: '2.25.12', contentDateTime: '2026-11-25T10:00:00Z' };
}
export function verifiedInput(src: Dataset, findings: Finding[]): SrDocumentInput {
  return { ...aiInput(src, findings), kind: 'verified', sopInstanceUID: '2.25.21', seriesInstanceUID: '2.25.22', signer: SIGNER, predecessor: { seriesInstanceUID: '2.25.12', sopInstanceUID: '2.25.11' } };
}
const roundTrip = (input: SrDocumentInput) => readMeasurementReport(parseDicomPart10(writeDicomPart10(buildMeasurementReport(input))));

/** What must survive the round trip unchanged. */
const essence = (f: Finding) => ({
  id: f.id, type: f.type, confidence: f.confidence, regions: f.regions, findingSite: f.findingSite, measurements: f.measurements,
  model: { name: f.model.name, version: f.model.version }, status: f.status, originalId: f.originalId, reason: f.verdict?.reason,
});

describe('SR writer -> own reader round trip', () => {
  it('AI SR: every finding, box, polygon, image-level reference, confidence and measurement unchanged', () => {
    const findings = sampleFindings(CT);
    const r = roundTrip(aiInput(CT, findings));
    expect(r.warnings).toEqual([]);
    expect(r.findings.map(essence)).toEqual(findings.map(essence));
    expect(r.findings[0].trackingUID).toBe(trackingUidOf(findings[0].studyInstanceUID, 'ICH-1'));
    expect(r.document).toMatchObject({ verificationFlag: 'UNVERIFIED', completionFlag: 'COMPLETE', preliminaryFlag: 'PRELIMINARY' });
  });

  it('multi-frame references keep their frame numbers, and a finding over two frames stays one finding', () => {
    const findings = sampleFindings(ENHANCED_CT, { frames: [1, 2] });
    const r = roundTrip(aiInput(ENHANCED_CT, findings));
    expect(r.findings.map(essence)).toEqual(findings.map(essence));
    expect(r.findings[0].regions.map((x) => x.image.frameNumber)).toEqual([1, 2]);
  });

  it('verified SR: verdicts (accepted, modified with its original, rejected with reason) and the verifier read back', () => {
    const reviewed = reviewedFindings(sampleFindings(CT));
    const r = roundTrip(verifiedInput(CT, reviewed));
    expect(r.warnings).toEqual([]);
    expect(r.findings.map(essence)).toEqual(reviewed.map(essence));
    for (const f of r.findings) expect(f.verdict).toMatchObject({ by: SIGNER.name, at: '2026-11-25T10:05:00+00:00' });
    expect(r.document).toMatchObject({ verificationFlag: 'VERIFIED', personObserver: SIGNER.name, predecessorSopInstanceUIDs: ['2.25.11'] });
    // The modified finding tracks the same lesion as its AI original.
    const mod = r.findings.find((f) => f.status === 'modified')!;
    expect(mod.trackingUID).toBe(r.findings.find((f) => f.id === 'ICH-1')!.trackingUID);
  });

  it('the same input gives byte-identical output (a retry writes the same instance)', () => {
    const input = aiInput(CT, sampleFindings(CT));
    expect(Buffer.from(writeDicomPart10(buildMeasurementReport(input))).equals(Buffer.from(writeDicomPart10(buildMeasurementReport(input))))).toBe(true);
  });

  it('document attributes: flags, AI marking, evidence listing each referenced image, IHE AIR contributing equipment', () => {
    const ds = buildMeasurementReport(aiInput(CT, sampleFindings(CT)));
    expect(ds).toMatchObject({ Modality: 'SR', PreliminaryFlag: 'PRELIMINARY', CompletionFlag: 'COMPLETE', VerificationFlag: 'UNVERIFIED', AccessionNumber: '', PatientName: 'REMOVED' });
    expect(String(ds.SeriesDescription)).toMatch(/^AI RESULT/);
    const ev = items(ds.CurrentRequestedProcedureEvidenceSequence);
    expect(items(items(ev[0].ReferencedSeriesSequence)[0].ReferencedSOPSequence).map((s) => s.ReferencedSOPInstanceUID)).toEqual([CT.SOPInstanceUID]);
    const ce = items(ds.ContributingEquipmentSequence)[0];
    expect(items(ce.PurposeOfReferenceCodeSequence)[0]).toMatchObject({ CodeValue: 'Newcode1', CodingSchemeDesignator: '99IHE' });
  });
});

describe('SR writer refuses what it cannot write honestly', () => {
  it('a verified SR without a signer', () => {
    const reviewed = reviewedFindings(sampleFindings(CT));
    expect(() => buildMeasurementReport({ ...verifiedInput(CT, reviewed), signer: undefined })).toThrow(/signer/);
  });
  it('a verified SR with an unreviewed finding', () => {
    expect(() => buildMeasurementReport(verifiedInput(CT, sampleFindings(CT)))).toThrow(/has no verdict/);
  });
  it('an image whose SOP class is unknown', () => {
    const f = sampleFindings(CT).map((x) => ({ ...x, regions: x.regions.map((r) => ({ ...r, image: { ...r.image, sopClassUID: undefined } })) }));
    expect(() => buildMeasurementReport(aiInput(CT, f))).toThrow(SrInputError);
    expect(() => buildMeasurementReport({ ...aiInput(CT, f), sopClassUIDs: { [String(CT.SOPInstanceUID)]: String(CT.SOPClassUID) } })).not.toThrow();
  });
  it('a finding from another study, a bad UID', () => {
    const f = sampleFindings(CT);
    expect(() => buildMeasurementReport({ ...aiInput(CT, f), study: { ...studyFromDataset(CT), StudyInstanceUID: '1.2.3' } })).toThrow(/belongs to study/);
    expect(() => buildMeasurementReport({ ...aiInput(CT, f), sopInstanceUID: 'abc' })).toThrow(/sopInstanceUID/);
  });
});

describe("dcmjs's own TID 1500 reader (adapters.Cornerstone.MeasurementReport)", () => {
  it('reads every planar finding back: code, site, geometry, image, and the certainty NUM', () => {
    const findings = sampleFindings(CT);
    const ds = parseDicomPart10(writeDicomPart10(buildMeasurementReport(aiInput(CT, findings))));
    // dcmjs picks a tool class by Cornerstone tracking identifiers; ours are finding ids, so the
    // hook maps by geometry to dcmjs's own RectangleRoi / FreehandRoi readers (no parsing of ours).
    const MR = (dcmjs.adapters as any).Cornerstone.MeasurementReport;
    const classes = MR.CORNERSTONE_TOOL_CLASSES_BY_TOOL_TYPE;
    const log = console.log;
    console.log = () => {};
    let state: any;
    try {
      state = MR.generateToolState(ds, {
        getToolClass: (g: Dataset) => {
          const sc = items(g.ContentSequence).find((i) => i.ValueType === 'SCOORD');
          if (!sc) return undefined; // image-level (TID 1501): dcmjs has no tool for it
          const g2 = sc.GraphicData as number[];
          const pts = g2.flatMap((_, i) => (i % 2 ? [] : [[g2[i], g2[i + 1]] as [number, number]]));
          return polylineAsBox(pts) ? classes.RectangleRoi : classes.FreehandRoi;
        },
      });
    } finally {
      console.log = log;
    }
    const [rect] = state.RectangleRoi;
    const box = findings[0].regions[0].box!;
    expect(rect.sopInstanceUid).toBe(CT.SOPInstanceUID);
    expect(rect.finding[0].CodeValue).toBe('1386000');
    expect(rect.findingSites[0][0].CodeMeaning).toBe('Brain');
    expect(rect.handles.start).toEqual({ x: box.x, y: box.y });
    expect(rect.handles.end).toEqual({ x: box.x + box.width, y: box.y + box.height });
    // dcmjs files the group's first NUM as "area": here it is the Certainty of Finding in percent.
    expect(Number(rect.cachedStats.area)).toBeCloseTo(findings[0].confidence * 100, 6);
    const [free] = state.FreehandRoi;
    expect(free.handles.points.slice(0, -1).map((p: { x: number; y: number }) => [p.x, p.y])).toEqual(findings[1].regions[0].polygon);
    expect(Number(free.cachedStats.area)).toBeCloseTo(61, 6);
  });
});

describe("the radiologist's measurements in the verified SR (issue 15)", () => {
  const cn = (it: Dataset) => { const c = items(it.ConceptNameCodeSequence)[0]; return c ? `${c.CodeValue}:${c.CodingSchemeDesignator}` : ''; };
  const kids = (it: Dataset) => items(it.ContentSequence);
  const unitOf = (n: Dataset) => String(items(items(n.MeasuredValueSequence)[0].MeasurementUnitsCodeSequence)[0].CodeValue);
  const valueOf = (n: Dataset) => Number(items(n.MeasuredValueSequence)[0].NumericValue);
  const build = (findings: Finding[]) => {
    const ms = sampleMeasurements(CT);
    const ds = parseDicomPart10(writeDicomPart10(buildMeasurementReport({ ...verifiedInput(CT, findings), measurements: ms })));
    const measurements = kids(ds).find((i) => cn(i) === '126010:DCM')!;
    const groups = kids(measurements).filter((g) => cn(g) === '125007:DCM');
    const byId = (id: string) => groups.find((g) => kids(g).some((i) => cn(i) === '112039:DCM' && String(i.TextValue).includes(id)))!;
    return { ds, ms, groups, byId };
  };

  it('one group per measurement, observed by the signer (a person), never the AI device; units and values as measured', () => {
    const findings = reviewedFindings(sampleFindings(CT));
    const { ms, groups, byId } = build(findings);
    const ours = groups.filter((g) => kids(g).some((i) => cn(i) === '112039:DCM' && String(i.TextValue).startsWith('measurement ')));
    expect(ours.length).toBe(ms.length);
    expect(groups.length).toBeGreaterThan(ms.length); // the AI findings' groups are still there
    for (const { measurement: m } of ms) {
      const g = byId(m.id);
      expect(g, m.id).toBeDefined();
      const ctx = kids(g).filter((i) => i.RelationshipType === 'HAS OBS CONTEXT');
      expect(ctx.find((i) => cn(i) === '121005:DCM')!.ConceptCodeSequence).toEqual([expect.objectContaining({ CodeValue: '121006', CodingSchemeDesignator: 'DCM' })]);
      expect(items(ctx.find((i) => cn(i) === '121008:DCM')!.PersonName)[0]).toEqual({ Alphabetic: SIGNER.name });
      expect(ctx.some((i) => cn(i) === '121012:DCM' || (cn(i) === '121005:DCM' && items(i.ConceptCodeSequence)[0].CodeValue === '121007'))).toBe(false);
      expect(ctx.find((i) => cn(i) === '112040:DCM')!.UID).toBe(measurementTrackingUid(m.studyInstanceUID, m.id));
    }
    const num = (id: string, code: string) => kids(byId(id)).find((i) => i.ValueType === 'NUM' && cn(i) === code)!;
    const len = num('len-1', '410668003:SCT');
    expect(unitOf(len)).toBe('mm');
    expect(valueOf(len)).toBeCloseTo(ms[0].measurement.stats.length!, 4);
    // The line on the image, as (column,row) of the points drawn.
    const line = kids(len).find((i) => i.ValueType === 'SCOORD')!;
    expect(line.RelationshipType).toBe('INFERRED FROM');
    expect(line.GraphicType).toBe('POLYLINE');
    expect(line.GraphicData).toEqual([100, 100, 140, 130]);
    expect(items(kids(line)[0].ReferencedSOPSequence)[0].ReferencedSOPInstanceUID).toBe(String(CT.SOPInstanceUID));
    expect(unitOf(num('ang-1', '1483009:SCT'))).toBe('deg');
    expect(valueOf(num('ang-1', '1483009:SCT'))).toBe(90);
    // ROIs: TID 1410 with the region, area in mm2, statistics in HU on CT.
    const rect = byId('rect-1');
    expect(items(rect.ContentTemplateSequence)[0].TemplateIdentifier).toBe('1410');
    const region = kids(rect).find((i) => cn(i) === '111030:DCM')!;
    expect(region.GraphicData).toEqual([10, 10, 30, 10, 30, 20, 10, 20, 10, 10]);
    expect(unitOf(num('rect-1', '42798000:SCT'))).toBe('mm2');
    for (const [code, v] of [['373098007:SCT', 41.5], ['386136009:SCT', 6.25], ['255605001:SCT', 20], ['56851009:SCT', 70]] as const) {
      expect(unitOf(num('rect-1', code))).toBe("[hnsf'U]");
      expect(valueOf(num('rect-1', code))).toBe(v);
    }
    expect(kids(byId('ell-1')).find((i) => cn(i) === '111030:DCM')!.GraphicType).toBe('ELLIPSE');
    expect(valueOf(num('probe-1', '373098007:SCT'))).toBe(37);
  });

  it('a report of measurements alone is written; deleted ones are the caller\'s to leave out; an AI SR refuses them', () => {
    const { groups } = build([]);
    expect(groups.length).toBe(5);
    expect(() => buildMeasurementReport({ ...aiInput(CT, sampleFindings(CT)), measurements: sampleMeasurements(CT) })).toThrow(SrInputError);
  });

  it('patient point -> (column,row): the inverse of the plane', () => {
    const plane = { position: [-100, -50, 10] as [number, number, number], orientation: [1, 0, 0, 0, 1, 0] as [number, number, number, number, number, number], spacing: [0.5, 0.25] as [number, number] };
    expect(toImagePoint([-100, -50, 10], plane)).toEqual([0.5, 0.5]);
    expect(toImagePoint([-99, -49, 10], plane)).toEqual([4.5, 2.5]);
  });
});
