/**
 * TID 1500 SCOORD3D regions through the SR reader (src/core/sr/reader.ts), the server's one SR
 * ingestion: with the study's image geometry a region lands as a box on the slice it lies on, at the
 * pixel coordinates computed by hand; without it (or off every slice) it is skipped with a warning.
 */
import { describe, expect, it } from 'vitest';
import { readMeasurementReport } from '../sr/reader';
import { planeOf } from './scoord3d';

const code = (v: string, s: string, m: string) => [{ CodeValue: v, CodingSchemeDesignator: s, CodeMeaning: m }];
const SERIES = '1.2.3.4';
const sop = (i: number) => `1.2.3.4.${i + 1}`;
const FOR = '1.2.3.9';

function report(graphic: { type: string; data: number[] }, certainty?: number) {
  return {
    SOPInstanceUID: '1.2.3.99',
    StudyInstanceUID: '1.2.3',
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: code('126000', 'DCM', 'Imaging Measurement Report'),
    ContentSequence: [
      { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'TEXT', ConceptNameCodeSequence: code('121013', 'DCM', 'Device Observer Name'), TextValue: 'nodule-3d' },
      {
        RelationshipType: 'CONTAINS', ValueType: 'CONTAINER', ConceptNameCodeSequence: code('126010', 'DCM', 'Imaging Measurements'),
        ContentSequence: [{
          RelationshipType: 'CONTAINS', ValueType: 'CONTAINER', ConceptNameCodeSequence: code('125007', 'DCM', 'Measurement Group'),
          ContentSequence: [
            { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'TEXT', ConceptNameCodeSequence: code('112039', 'DCM', 'Tracking Identifier'), TextValue: 'N-1' },
            { RelationshipType: 'CONTAINS', ValueType: 'CODE', ConceptNameCodeSequence: code('121071', 'DCM', 'Finding'), ConceptCodeSequence: code('427359005', 'SCT', 'Solitary nodule of lung') },
            { RelationshipType: 'CONTAINS', ValueType: 'SCOORD3D', ConceptNameCodeSequence: code('111030', 'DCM', 'Image Region'), GraphicType: graphic.type, GraphicData: graphic.data, ReferencedFrameOfReferenceUID: FOR },
            ...(certainty === undefined ? [] : [{ RelationshipType: 'CONTAINS', ValueType: 'NUM', ConceptNameCodeSequence: code('111012', 'DCM', 'Certainty of Finding'), MeasuredValueSequence: [{ NumericValue: certainty, MeasurementUnitsCodeSequence: code('%', 'UCUM', 'Percent') }] }]),
          ],
        }],
      },
    ],
  };
}

// Three axial slices 5 mm apart at z = 20, 25, 30; 0.5 mm columns, 0.8 mm rows, top-left pixel centre at (−100, −50).
const slices = [0, 1, 2].map((i) => ({ ref: { seriesInstanceUID: SERIES, sopInstanceUID: sop(i) }, plane: planeOf([-100, -50, 20 + 5 * i], [1, 0, 0, 0, 1, 0], [0.8, 0.5], 512, 512)!, spacing: 5 }));
const geometry = (f: string | undefined) => (f === FOR ? slices : []);

describe('SCOORD3D in the SR reader', () => {
  it('a closed POLYLINE square at z = 26 lands as a box on the slice at z = 25 (by hand)', () => {
    // x −90 … −80 → columns (10 / 0.5 + 0.5) = 20.5 … 40.5; y −42 … −34 → rows (8 / 0.8 + 0.5) = 10.5 … 20.5.
    const sq = [[-90, -42], [-80, -42], [-80, -34], [-90, -34], [-90, -42]].flatMap(([x, y]) => [x, y, 26]);
    const r = readMeasurementReport(report({ type: 'POLYLINE', data: sq }, 87), { geometry });
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f.regions).toHaveLength(1);
    expect(f.regions[0].image).toEqual({ seriesInstanceUID: SERIES, sopInstanceUID: sop(1) });
    const b = f.regions[0].box!;
    expect([b.x, b.y, b.width, b.height].map((v) => +v.toFixed(6))).toEqual([20.5, 10.5, 20, 10]);
    expect(f.confidence).toBeCloseTo(0.87);
    expect(f.model.name).toBe('nodule-3d');
    expect(r.warnings.join('\n')).not.toMatch(/SCOORD3D/);
  });

  it('no Certainty of Finding: marked as not stated (shown as "confidence not given", never 100 %)', () => {
    const r = readMeasurementReport(report({ type: 'POINT', data: [-90, -42, 26] }), { geometry });
    expect(r.findings[0].confidenceStated).toBe(false);
    expect(readMeasurementReport(report({ type: 'POINT', data: [-90, -42, 26] }, 70), { geometry }).findings[0].confidenceStated).toBeUndefined();
  });

  it('a POINT lands as a small box around its pixel', () => {
    const r = readMeasurementReport(report({ type: 'POINT', data: [-90, -42, 30] }, 50), { geometry });
    const reg = r.findings[0].regions[0];
    expect(reg.image.sopInstanceUID).toBe(sop(2));
    expect(reg.box!.x + reg.box!.width / 2).toBeCloseTo(20.5, 6);
    expect(reg.box!.y + reg.box!.height / 2).toBeCloseTo(10.5, 6);
  });

  it('without geometry, or off every slice, or another Frame of Reference: skipped with a warning', () => {
    const pt = { type: 'POINT', data: [-90, -42, 26] };
    expect(readMeasurementReport(report(pt, 50)).warnings.join('\n')).toMatch(/SCOORD3D region is in patient coordinates/);
    const far = readMeasurementReport(report({ type: 'POINT', data: [-90, -42, 60] }, 50), { geometry });
    expect(far.findings).toHaveLength(0);
    expect(far.warnings.join('\n')).toMatch(/lies on none of the study's images/);
    expect(readMeasurementReport(report(pt, 50), { geometry: () => [] }).findings).toHaveLength(0);
  });
});
