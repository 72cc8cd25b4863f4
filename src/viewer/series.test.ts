import { describe, expect, it } from 'vitest';
import { countLine, framesPerSeries, pickPriorSeries } from './series';
import type { SeriesInfo } from './store';
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

describe('pickPriorSeries', () => {
  const ser = (uid: string, modality: string, description: string, instanceCount: number): SeriesInfo => ({ seriesInstanceUID: uid, modality, description, instanceCount, status: 'idle', failedImages: 0 });
  const prior = [ser('scout', 'CT', 'Scout', 2), ser('ax', 'CT', 'Axial 5mm', 28), ser('sr', 'SR', 'Report', 1), ser('bone', 'CT', 'Axial bone', 30)];
  it('same description first (the protocol repeated)', () => {
    expect(pickPriorSeries(prior, ser('c', 'CT', 'Axial 5mm', 40))?.seriesInstanceUID).toBe('ax');
  });
  it('else the longest stack of the same modality', () => {
    expect(pickPriorSeries(prior, ser('c', 'CT', 'Head 2.5mm', 40))?.seriesInstanceUID).toBe('bone');
    expect(pickPriorSeries([ser('mr', 'MR', 'T2', 50), ...prior], ser('c', 'CT', '', 1))?.seriesInstanceUID).toBe('bone');
  });
  it('no series of the same modality: the longest of any', () => {
    expect(pickPriorSeries([ser('mr', 'MR', 'T2', 50), ser('mr2', 'MR', 'T1', 20)], ser('c', 'CT', '', 1))?.seriesInstanceUID).toBe('mr');
    expect(pickPriorSeries([], undefined)).toBeUndefined();
  });
});
