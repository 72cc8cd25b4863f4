import { describe, expect, it } from 'vitest';
import { canPreview, fitRect, previewInfo, previewPixels, type PreviewInfo } from './preview';
import { windowToRange } from './voi';
import type { DicomJson } from './dicomJson';

const base: PreviewInfo = {
  rows: 2,
  columns: 2,
  rowSpacing: 1,
  columnSpacing: 1,
  bitsAllocated: 16,
  pixelRepresentation: 1,
  samplesPerPixel: 1,
  photometric: 'MONOCHROME2',
  slope: 1,
  intercept: -1024,
  modality: 'CT',
};

const int16 = (...v: number[]) => new Uint8Array(new Int16Array(v).buffer);
const grey = (rgba: Uint8ClampedArray) => [...rgba].filter((_, i) => i % 4 === 0);

describe('first-image preview pixels', () => {
  it('applies the modality LUT and the header window (LINEAR, as Cornerstone does)', () => {
    // Stored 1024 = 0 HU; window 40/80 spans 0 .. 79 HU (centre - 0.5 -/+ (width - 1) / 2).
    const info = { ...base, windowCenter: [40], windowWidth: [80] };
    const r = previewPixels(int16(0, 1034, 1064, 2000), info);
    expect(r.range).toEqual(windowToRange({ center: 40, width: 80 }));
    const g = grey(r.rgba);
    expect(g[0]).toBe(0); // -1024 HU: below the window
    expect(g[3]).toBe(255); // 976 HU: above it
    expect(g[1]).toBeGreaterThan(0);
    expect(g[1]).toBeLessThan(g[2]);
    expect(Math.abs(g[2] - 128)).toBeLessThanOrEqual(2); // 40 HU = the centre
  });

  it('applies SIGMOID and LINEAR_EXACT from the header exactly (PS3.3 C.11.2.1.3)', () => {
    const inst = (fn: string): DicomJson => ({
      '00280010': { vr: 'US', Value: [2] },
      '00280011': { vr: 'US', Value: [2] },
      '00280100': { vr: 'US', Value: [16] },
      '00281056': { vr: 'CS', Value: [fn] },
    });
    expect(previewInfo(inst('SIGMOID'))?.voiFunction).toBe('SIGMOID');
    expect(previewInfo(inst('LINEAR'))?.voiFunction).toBeUndefined();
    // Stored 1024 + x = x HU. SIGMOID c 40 w 80: 255/(1+e^2) = 30.40 at 0 HU, 127.5 at 40, 255/(1+e^-2) = 224.60 at 80.
    const sig = grey(previewPixels(int16(1024, 1064, 1104, 0), { ...base, windowCenter: [40], windowWidth: [80], voiFunction: 'SIGMOID' }).rgba);
    expect(sig).toEqual([30, 128, 225, 0]);
    // LINEAR_EXACT c 40 w 80: (−20/80 + 0.5)·255 = 63.75 at 20 HU, 127.5 at 40, 255 at 80 (inside).
    const ex = grey(previewPixels(int16(1044, 1064, 1104, 0), { ...base, windowCenter: [40], windowWidth: [80], voiFunction: 'LINEAR_EXACT' }).rgba);
    expect(ex).toEqual([64, 128, 255, 0]);
  });

  it('falls back to the CT soft-tissue default without a header window', () => {
    const r = previewPixels(int16(0, 1024, 1064, 2000), base);
    expect(r.range).toEqual(windowToRange({ center: 40, width: 400 }));
  });

  it('uses the pixel range for MR without a window, and shows MONOCHROME1 as film (high = dark)', () => {
    const mr = { ...base, modality: 'MR', intercept: 0, pixelRepresentation: 0 };
    const u16 = (...v: number[]) => new Uint8Array(new Uint16Array(v).buffer);
    expect(grey(previewPixels(u16(10, 20, 30, 40), mr).rgba)).toEqual([0, 85, 170, 255]);
    expect(grey(previewPixels(u16(10, 20, 30, 40), { ...mr, photometric: 'MONOCHROME1' }).rgba)).toEqual([255, 170, 85, 0]);
  });

  it('reads 8-bit frames and frames at an odd byte offset', () => {
    const eight = { ...base, bitsAllocated: 8, pixelRepresentation: 0, intercept: 0, modality: 'XA' };
    expect(grey(previewPixels(new Uint8Array([0, 50, 100, 200]), eight).rgba)).toEqual([0, 64, 128, 255]);
    const odd = new Uint8Array(9);
    odd.set(int16(0, 1024, 1064, 2000), 1);
    const r = previewPixels(odd.subarray(1), { ...base, windowCenter: [40], windowWidth: [80] });
    expect(grey(r.rgba)[3]).toBe(255);
  });

  it('only previews native little-endian greyscale', () => {
    expect(canPreview(base, '1.2.840.10008.1.2.1', 8)).toBe(true);
    expect(canPreview(base, '1.2.840.10008.1.2', 8)).toBe(true);
    expect(canPreview(base, '1.2.840.10008.1.2.2', 8)).toBe(false); // big endian
    expect(canPreview(base, '1.2.840.10008.1.2.4.70', 8)).toBe(false); // JPEG lossless
    expect(canPreview({ ...base, photometric: 'RGB', samplesPerPixel: 3 }, '1.2.840.10008.1.2.1', 24)).toBe(false);
    expect(canPreview(base, '1.2.840.10008.1.2.1', 7)).toBe(false); // truncated frame
  });

  it('reads the display fields from WADO-RS metadata, including pixel spacing', () => {
    const inst: DicomJson = {
      '00280010': { vr: 'US', Value: [512] },
      '00280011': { vr: 'US', Value: [256] },
      '00280100': { vr: 'US', Value: [16] },
      '00280103': { vr: 'US', Value: [1] },
      '00280030': { vr: 'DS', Value: [0.5, 1] },
      '00280004': { vr: 'CS', Value: ['MONOCHROME1 '] },
      '00281052': { vr: 'DS', Value: ['-1024'] },
      '00080060': { vr: 'CS', Value: ['CR'] },
    };
    expect(previewInfo(inst)).toMatchObject({ rows: 512, columns: 256, rowSpacing: 0.5, columnSpacing: 1, photometric: 'MONOCHROME1', intercept: -1024, slope: 1, modality: 'CR' });
    expect(previewInfo({})).toBeNull();
  });

  it('fits the image whole and centred, honouring pixel aspect', () => {
    expect(fitRect({ rows: 512, columns: 512, rowSpacing: 0.5, columnSpacing: 0.5 }, 1000, 500)).toEqual({ x: 250, y: 0, width: 500, height: 500 });
    // 100 rows of 2 mm, 100 columns of 1 mm: twice as tall as wide.
    expect(fitRect({ rows: 100, columns: 100, rowSpacing: 2, columnSpacing: 1 }, 400, 400)).toEqual({ x: 100, y: 0, width: 200, height: 400 });
  });
});
