import { describe, expect, it } from 'vitest';
import { countLine, framesPerSeries } from './series';
import type { DicomJson } from '../core/imaging/dicomJson';

const inst = (series: string, frames?: number, cls = '1.2.840.10008.5.1.4.1.1.4'): DicomJson => ({
  '0020000E': { vr: 'UI', Value: [series] },
  '00080016': { vr: 'UI', Value: [cls] },
  ...(frames === undefined ? {} : { '00280008': { vr: 'IS', Value: [frames] } }),
});

describe('series panel counts', () => {
  it('counts the frames of multi-frame instances, images only', () => {
    const c = framesPerSeries([inst('mf', 16), inst('ct'), inst('ct'), inst('ct', 1), inst('ct', undefined, '1.2.840.10008.5.1.4.1.1.88.33')]);
    expect(c.get('mf')).toEqual({ instances: 1, frames: 16 });
    expect(c.get('ct')).toEqual({ instances: 3, frames: 3 });
  });
  it('says frames only where an image holds several', () => {
    expect(countLine({ modality: 'MR', instanceCount: 1, frameCount: 16 })).toBe('MR · 1 image · 16 frames');
    expect(countLine({ modality: 'CT', instanceCount: 28, frameCount: 28 })).toBe('CT · 28 images');
    expect(countLine({ modality: 'CT', instanceCount: 28 })).toBe('CT · 28 images');
  });
});
