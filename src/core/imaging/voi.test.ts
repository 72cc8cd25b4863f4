import { describe, expect, it } from 'vitest';
import { initialVoi, rangeToWindow, windowToRange, WINDOW_PRESETS, formatWindow, dragWindow, presetsFor } from './voi';

describe('VOI / window choice', () => {
  it('converts window centre/width to the DICOM linear range and back exactly', () => {
    expect(windowToRange({ center: 40, width: 80 })).toEqual({ lower: 0, upper: 79 });
    expect(windowToRange({ center: 35, width: 100 })).toEqual({ lower: -15, upper: 84 });
    for (const p of Object.values(WINDOW_PRESETS)) {
      const w = rangeToWindow(windowToRange(p));
      expect(w.center).toBeCloseTo(p.center, 9);
      expect(w.width).toBeCloseTo(p.width, 9);
    }
    expect(formatWindow(windowToRange(WINDOW_PRESETS.bone))).toBe('W 2800 L 600');
  });

  it('has the five CT presets on keys 1-5', () => {
    expect(Object.keys(WINDOW_PRESETS)).toEqual(['brain', 'subdural', 'bone', 'lung', 'abdomen']);
    expect(Object.values(WINDOW_PRESETS).map((p) => p.key)).toEqual(['1', '2', '3', '4', '5']);
    expect(WINDOW_PRESETS.lung.center).toBeLessThan(0);
  });

  it("prefers the image's own Window Center/Width (first of several)", () => {
    const r = initialVoi({ modality: 'CR', windowCenter: [550, 300], windowWidth: [1024, 600], voiLutDescriptor: [4096, 0, 12] });
    expect(r.source).toBe('window');
    expect(rangeToWindow(r.range!)).toEqual({ center: 550, width: 1024 });
  });

  it('uses the VOI LUT Sequence range when there is no window (XR)', () => {
    const r = initialVoi({ modality: 'DX', voiLutDescriptor: [0, 0, 16] });
    expect(r).toEqual({ range: { lower: 0, upper: 65535 }, source: 'voi-lut' });
    const r2 = initialVoi({ modality: 'CR', voiLutDescriptor: [2048, 512, 12] });
    expect(r2.range).toEqual({ lower: 512, upper: 2559 });
  });

  it('ignores a zero or missing width', () => {
    expect(initialVoi({ modality: 'MR', windowCenter: [100], windowWidth: [0], minPixel: 0, maxPixel: 500 }).source).toBe('pixel-range');
  });

  it('falls back to a soft-tissue window for CT and to the rescaled pixel range otherwise', () => {
    expect(initialVoi({ modality: 'CT' })).toEqual({ range: windowToRange(WINDOW_PRESETS.abdomen), source: 'modality-default' });
    expect(initialVoi({ modality: 'MR', minPixel: 10, maxPixel: 910, rescaleSlope: 2, rescaleIntercept: -5 })).toEqual({ range: { lower: 15, upper: 1815 }, source: 'pixel-range' });
    expect(initialVoi({ modality: 'MR' })).toEqual({ range: null, source: 'none' });
  });

  it('drag: right widens, down raises the level, width never below 1', () => {
    expect(dragWindow({ center: 40, width: 80 }, 10, 5)).toEqual({ center: 45, width: 90 });
    expect(dragWindow({ center: 40, width: 5 }, -100, 0).width).toBe(1);
  });
});

describe('presets per modality', () => {
  const image = { initial: windowToRange({ center: 600, width: 1200 }), min: 0, max: 4095 };
  it('CT presets on CT only, in HU', () => {
    expect(presetsFor('CT').map((p) => p.label)).toEqual(['Brain', 'Subdural', 'Bone', 'Lung', 'Abdomen']);
    expect(presetsFor('CT')[0].range(image)).toEqual(windowToRange({ center: 40, width: 80 }));
    for (const m of ['MR', 'CR', 'DX', 'MG', 'US', undefined]) expect(presetsFor(m).map((p) => p.label)).not.toContain('Brain');
  });
  it("MR and XR start from the image's own window and offer the full range and a narrower one", () => {
    for (const m of ['MR', 'CR', 'DX']) {
      const [def, full, contrast] = presetsFor(m);
      expect(def.key).toBe('1');
      expect(def.range(image)).toEqual(image.initial);
      expect(full.range(image)).toEqual({ lower: 0, upper: 4095 });
      expect(rangeToWindow(contrast.range(image)!)).toEqual({ center: 600, width: 600 });
    }
    // No header window: the default is the pixel range.
    expect(presetsFor('MR')[0].range({ initial: null, min: 10, max: 900 })).toEqual({ lower: 10, upper: 900 });
  });
});
