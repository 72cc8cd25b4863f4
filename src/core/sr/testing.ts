/**
 * Sample findings on a real source image, for the SR/HL7 tests and the CLIs' examples.
 * Pure: the caller reads the source file; this only builds Findings from its attributes.
 */
import { FindingSchema, type Finding, type FindingInput, type ImageRef, type ModelRef } from '../findings/finding.js';
import type { Dataset } from './dicom.js';
import type { Measurement } from '../measurements/measurement.js';
import { imagePlaneOf } from './readerMeasurements.js';
import type { SrMeasurement } from './writer.js';

export const DEMO_MODEL: ModelRef = { name: 'ich-detector', version: '1.2.0', manufacturer: 'Reading Station Demo' };

export function imageRefOf(ds: Dataset, frameNumber?: number): ImageRef {
  return {
    seriesInstanceUID: String(ds.SeriesInstanceUID),
    sopInstanceUID: String(ds.SOPInstanceUID),
    sopClassUID: String(ds.SOPClassUID),
    ...(frameNumber ? { frameNumber } : {}),
  };
}

const ICH = { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' };

/** A box, a polygon and an image-level finding on one image (or on frames of a multi-frame image). */
export function sampleFindings(src: Dataset, opts: { frames?: number[]; model?: ModelRef } = {}): Finding[] {
  const study = String(src.StudyInstanceUID);
  const model = opts.model ?? DEMO_MODEL;
  const frames = opts.frames ?? [];
  const img = (i: number) => imageRefOf(src, frames.length ? frames[i % frames.length] : undefined);
  const base = { studyInstanceUID: study, model, source: 'preread' as const };
  const inputs: FindingInput[] = [
    {
      ...base, id: 'ICH-1', type: ICH, label: 'Intracranial hemorrhage', confidence: 0.93, severity: 'critical',
      regions: [{ image: img(0), box: { x: 100.5, y: 120, width: 40, height: 30.25 } }, ...(frames.length > 1 ? [{ image: img(1), box: { x: 98, y: 118, width: 44, height: 33 } }] : [])],
      findingSite: { value: '12738006', scheme: 'SCT', meaning: 'Brain' },
      measurements: [{ name: { value: '118565006', scheme: 'SCT', meaning: 'Volume' }, value: 12.5, unit: { value: 'ml', scheme: 'UCUM', meaning: 'milliliter' } }],
    },
    {
      ...base, id: 'ICH-2', type: ICH, label: 'Intracranial hemorrhage', confidence: 0.61, severity: 'urgent',
      regions: [{ image: img(1), polygon: [[10, 10], [40, 12.5], [30, 50], [12, 44]] }],
    },
    {
      ...base, id: 'Q-1', type: { value: 'RS-Q-MOTION', scheme: '99RS', meaning: 'Motion artefact' }, label: 'Motion artefact', confidence: 0.5, severity: 'routine', kind: 'quality',
      regions: [{ image: img(0) }],
    },
  ];
  return inputs.map((i) => FindingSchema.parse(i));
}

/** The same findings after a radiologist's review: one accepted, one rejected, one modified (box moved), the quality flag accepted. */
export function reviewedFindings(ai: Finding[], by = 'rita', at = '2026-11-25T10:00:00.000Z'): Finding[] {
  const [a, b, c] = ai;
  const v = { by, role: 'radiologist', at };
  const modified: Finding = {
    ...a, id: `${a.id}-m`, status: 'modified', originalId: a.id, source: 'radiologist', verdict: v, confidence: a.confidence,
    regions: a.regions.map((r) => (r.box ? { ...r, box: { ...r.box, width: r.box.width + 5 } } : r)),
  };
  return [
    { ...a, status: 'rejected', verdict: { ...v, reason: 'other', note: 'superseded by the corrected outline' } },
    modified,
    { ...b, status: 'rejected', verdict: { ...v, reason: 'false-positive' } },
    { ...c, status: 'accepted', verdict: v },
  ];
}

/**
 * A radiologist's measurements on one source image, one per tool, with points in patient space (mm)
 * made from the image's plane (so they project back to known pixels), for the SR writer's tests.
 */
export function sampleMeasurements(src: Dataset): SrMeasurement[] {
  const plane = imagePlaneOf(src);
  if (!plane) throw new Error('sampleMeasurements: the source image has no plane');
  const [r0, r1, r2, c0, c1, c2] = plane.orientation;
  const [rs, cs] = plane.spacing;
  // (column,row) of a pixel centre -> patient mm
  const at = (col: number, row: number): [number, number, number] => [
    plane.position[0] + (col - 0.5) * cs * r0 + (row - 0.5) * rs * c0,
    plane.position[1] + (col - 0.5) * cs * r1 + (row - 0.5) * rs * c1,
    plane.position[2] + (col - 0.5) * cs * r2 + (row - 0.5) * rs * c2,
  ];
  const hu = String(src.Modality) === 'CT';
  const base = {
    studyInstanceUID: String(src.StudyInstanceUID), seriesInstanceUID: String(src.SeriesInstanceUID), sopInstanceUID: String(src.SOPInstanceUID), frameNumber: 1,
    createdBy: 'rita', createdAt: '2026-11-25T10:01:00Z', updatedBy: 'rita', updatedAt: '2026-11-25T10:01:00Z',
  };
  const ms: Measurement[] = [
    { ...base, id: 'len-1', tool: 'length', points: [at(100, 100), at(140, 130)], stats: { length: 50 * cs, unit: 'mm' } },
    { ...base, id: 'ang-1', tool: 'angle', points: [at(50, 50), at(60, 60), at(70, 50)], stats: { angle: 90 } },
    { ...base, id: 'rect-1', tool: 'rectangle', points: [at(10, 10), at(30, 20)], stats: { area: 200 * rs * cs, areaUnit: 'mm²', mean: 41.5, stdDev: 6.25, min: 20, max: 70, ...(hu ? { modalityUnit: 'HU' } : {}) } },
    { ...base, id: 'ell-1', tool: 'ellipse', points: [at(200, 200), at(220, 210)], stats: { area: Math.PI * 200 * rs * cs, areaUnit: 'mm²', mean: 35, stdDev: 4, min: 25, max: 48, ...(hu ? { modalityUnit: 'HU' } : {}) } },
    { ...base, id: 'probe-1', tool: 'probe', points: [at(128, 128)], stats: { value: 37, ...(hu ? { modalityUnit: 'HU' } : {}) } },
  ];
  return ms.map((measurement) => ({ measurement, sopClassUID: String(src.SOPClassUID), plane }));
}
