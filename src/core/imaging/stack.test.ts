/** Stacks hold image instances only, whatever else shares the series (issue 15, item 6). */
import { describe, expect, it } from 'vitest';
import { buildStack, firstSeriesOf, isImageInstance } from './stack';
import type { DicomJson } from './dicomJson';

const image = (sop: string, z: number, cls = '1.2.840.10008.5.1.4.1.1.2'): DicomJson => ({
  '00080016': { vr: 'UI', Value: [cls] },
  '00080018': { vr: 'UI', Value: [sop] },
  '0020000E': { vr: 'UI', Value: ['9.1'] },
  '00080060': { vr: 'CS', Value: ['CT'] },
  '00280010': { vr: 'US', Value: [512] },
  '00280011': { vr: 'US', Value: [512] },
  '00200032': { vr: 'DS', Value: [0, 0, z] },
  '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
});
const object = (sop: string, cls: string, modality: string): DicomJson => ({
  '00080016': { vr: 'UI', Value: [cls] },
  '00080018': { vr: 'UI', Value: [sop] },
  '0020000E': { vr: 'UI', Value: ['9.1'] },
  '00080060': { vr: 'CS', Value: [modality] },
});

const NON_IMAGES: [string, string, string][] = [
  ['sr', '1.2.840.10008.5.1.4.1.1.88.33', 'SR'], // Comprehensive SR
  ['sr1500', '1.2.840.10008.5.1.4.1.1.88.34', 'SR'], // Comprehensive 3D SR
  ['ko', '1.2.840.10008.5.1.4.1.1.88.59', 'KO'],
  ['pr', '1.2.840.10008.5.1.4.1.1.11.1', 'PR'],
  ['seg', '1.2.840.10008.5.1.4.1.1.66.4', 'SEG'],
  ['pdf', '1.2.840.10008.5.1.4.1.1.104.1', 'DOC'],
  ['rtss', '1.2.840.10008.5.1.4.1.1.481.3', 'RTSTRUCT'],
  ['pmap', '1.2.840.10008.5.1.4.1.1.30', 'OT'], // Parametric Map: shown as a colour map by its own handler
];

describe('stacks from image SOP classes only', () => {
  it('leaves SR, KO, PR, SEG, documents and RT structures out of a series they share with images', () => {
    // A SEG has Rows and Columns too: its class keeps it out, not the lack of pixels.
    const seg = { ...object('seg2', '1.2.840.10008.5.1.4.1.1.66.4', 'SEG'), '00280010': { vr: 'US', Value: [512] }, '00280011': { vr: 'US', Value: [512] } } as DicomJson;
    const instances = [...NON_IMAGES.map(([sop, cls, m]) => object(sop, cls, m)), image('b', 5), seg, image('a', 1), image('c', 9)];
    const r = buildStack(instances);
    expect(r.entries.map((e) => e.sopInstanceUID)).toEqual(['a', 'b', 'c']);
    expect(r.method).toBe('position');
    // instanceIndex still points into the input as given.
    expect(r.entries.map((e) => e.instanceIndex)).toEqual([NON_IMAGES.length + 2, NON_IMAGES.length, NON_IMAGES.length + 3]);
  });

  it('keeps images of any image class (RT Image, enhanced MR), drops an unknown class without pixels', () => {
    expect(isImageInstance(image('x', 0, '1.2.840.10008.5.1.4.1.1.481.1'))).toBe(true);
    expect(isImageInstance(image('x', 0, '1.2.840.10008.5.1.4.1.1.4.1'))).toBe(true);
    expect(isImageInstance(object('x', '1.2.3.4.5.6', 'OT'))).toBe(false);
    for (const [sop, cls, m] of NON_IMAGES) expect(isImageInstance(object(sop, cls, m))).toBe(false);
  });

  it('a series whose first instance is an SR still opens first, by its images', () => {
    const sr = object('sr', '1.2.840.10008.5.1.4.1.1.88.33', 'SR');
    expect(firstSeriesOf([sr, image('a', 1)])).toBe('9.1');
    expect(firstSeriesOf([sr])).toBeUndefined();
  });
});
