/**
 * Sample findings on a real source image, for the SR/HL7 tests and the CLIs' examples.
 * Pure: the caller reads the source file; this only builds Findings from its attributes.
 */
import { FindingSchema, type Finding, type FindingInput, type ImageRef, type ModelRef } from '../findings/finding.js';
import type { Dataset } from './dicom.js';

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
