import { describe, expect, it } from 'vitest';
import { imageRefsOf, leftToolFor, refOfImage, viewOfRef, type MeasurementView } from './paneRules';
import type { StackEntry } from '../core/imaging/stack';

const entry = (sop: string, frameNumber = 1, numberOfFrames = 1, series = 'S1') => ({ sopInstanceUID: sop, frameNumber, numberOfFrames, seriesInstanceUID: series }) as StackEntry;

describe('viewport rules', () => {
  it('names a frame only for multi-frame instances', () => {
    expect(imageRefsOf([entry('a'), entry('b', 2, 3)])).toEqual([
      { sopInstanceUID: 'a', frameNumber: undefined, seriesInstanceUID: 'S1' },
      { sopInstanceUID: 'b', frameNumber: 2, seriesInstanceUID: 'S1' },
    ]);
  });
  it('keeps window/level under a measurement tool in a viewport showing another study', () => {
    expect(leftToolFor('length', true)).toBe('length');
    expect(leftToolFor('length', false)).toBe('windowLevel');
    expect(leftToolFor('probe', false)).toBe('windowLevel');
    expect(leftToolFor('pan', false)).toBe('pan');
    expect(leftToolFor('zoom', false)).toBe('zoom');
  });
  const views: MeasurementView[] = [
    { viewportId: 'vp0', imageIds: ['i1', 'i2'], imageRefs: imageRefsOf([entry('a'), entry('b')]) },
    { viewportId: 'vp1', imageIds: ['j1', 'j2'], imageRefs: imageRefsOf([entry('c', 1, 2, 'S2'), entry('c', 2, 2, 'S2')]) },
  ];
  it('finds an image id in whichever viewport shows it', () => {
    expect(refOfImage(views, 'i2')).toEqual({ sopInstanceUID: 'b', frameNumber: undefined, seriesInstanceUID: 'S1' });
    expect(refOfImage(views, 'j2')).toEqual({ sopInstanceUID: 'c', frameNumber: 2, seriesInstanceUID: 'S2' });
    expect(refOfImage(views, 'x')).toBeUndefined();
  });
  it('finds the viewport showing a stored frame (frame 1 for a single-frame image)', () => {
    expect(viewOfRef(views, { seriesInstanceUID: 'S1', sopInstanceUID: 'a', frameNumber: 1 })).toEqual({ viewportId: 'vp0', imageId: 'i1' });
    expect(viewOfRef(views, { seriesInstanceUID: 'S2', sopInstanceUID: 'c', frameNumber: 2 })).toEqual({ viewportId: 'vp1', imageId: 'j2' });
    expect(viewOfRef(views, { seriesInstanceUID: 'S2', sopInstanceUID: 'c', frameNumber: 3 })).toBeUndefined();
  });
});
