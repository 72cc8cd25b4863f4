import { describe, expect, it } from 'vitest';
import { exactDisplayVoi, imageVoiOf, modalityBounds } from './voiMeta';
import { windowToRange } from './voi';
import type { DicomJson } from './dicomJson';

const lutItem = (data: Record<string, unknown>): DicomJson => ({
  '00283010': { vr: 'SQ', Value: [{ '00283002': { vr: 'US', Value: [4, 100, 12] }, '00283006': { vr: 'US', ...data } }] },
} as DicomJson);

describe('the VOI an image asks for', () => {
  it('reads function, window and VOI LUT (Value list or InlineBinary words, little endian)', () => {
    const a = imageVoiOf({ '00281056': { vr: 'CS', Value: ['SIGMOID'] }, '00281050': { vr: 'DS', Value: [35, 50] }, '00281051': { vr: 'DS', Value: [100, 20] } } as DicomJson);
    expect(a).toEqual({ fn: 'SIGMOID', window: { center: 35, width: 100 }, lut: null });
    const b = imageVoiOf(lutItem({ Value: [0, 1000, 2000, 4095] }));
    expect(Array.from(b.lut!.data)).toEqual([0, 1000, 2000, 4095]);
    // 0, 1000 (0x03E8), 2000 (0x07D0), 4095 (0x0FFF) as little-endian words.
    const bytes = String.fromCharCode(0x00, 0x00, 0xe8, 0x03, 0xd0, 0x07, 0xff, 0x0f);
    const c = imageVoiOf(lutItem({ InlineBinary: btoa(bytes) }));
    expect(Array.from(c.lut!.data)).toEqual([0, 1000, 2000, 4095]);
    expect(c.fn).toBe('LINEAR');
    // Signed pixels: a first value mapped stored as US 65336 is −200.
    const signed = imageVoiOf({ ...lutItem({ Value: [0, 1, 2, 3] }), '00280103': { vr: 'US', Value: [1] }, '00283010': { vr: 'SQ', Value: [{ '00283002': { vr: 'US', Value: [4, 65336, 12] }, '00283006': { vr: 'US', Value: [0, 1, 2, 3] } }] } } as DicomJson);
    expect(signed.lut!.firstMapped).toBe(-200);
    expect(imageVoiOf({ ...lutItem({ Value: [0, 1, 2, 3] }), '00283010': { vr: 'SQ', Value: [{ '00283002': { vr: 'US', Value: [4, 65336, 12] }, '00283006': { vr: 'US', Value: [0, 1, 2, 3] } }] } } as DicomJson).lut!.firstMapped).toBe(65336);
  });

  it('uses the LUT until a window is chosen, the function with the window in effect, nothing for plain LINEAR', () => {
    const lut = imageVoiOf(lutItem({ Value: [0, 1000, 2000, 4095] }));
    expect(exactDisplayVoi(lut, null)?.kind).toBe('lut');
    expect(exactDisplayVoi(lut, { lower: 100, upper: 103 })?.kind).toBe('lut');
    expect(exactDisplayVoi(lut, { lower: 0, upper: 500 })).toBeNull(); // the reader dragged: linear
    const sig = { fn: 'SIGMOID' as const, window: { center: 35, width: 100 }, lut: null };
    expect(exactDisplayVoi(sig, null)).toEqual({ kind: 'function', window: { center: 35, width: 100 }, fn: 'SIGMOID' });
    expect(exactDisplayVoi(sig, windowToRange({ center: 60, width: 300 }))).toEqual({ kind: 'function', window: { center: 60, width: 300 }, fn: 'SIGMOID' });
    expect(exactDisplayVoi({ fn: 'LINEAR', window: { center: 1, width: 2 }, lut: null }, null)).toBeNull();
  });

  it('gives modality-value bounds of a decoded image', () => {
    expect(modalityBounds({ minPixelValue: -1000, maxPixelValue: 2000, isPreScaled: true })).toEqual([-1000, 2000]);
    expect(modalityBounds({ minPixelValue: 0, maxPixelValue: 4095, slope: 1, intercept: -1024 })).toEqual([-1024, 3071]);
    expect(modalityBounds({ minPixelValue: 0, maxPixelValue: 10, slope: -1, intercept: 0 })).toEqual([-10, 0]);
  });
});
