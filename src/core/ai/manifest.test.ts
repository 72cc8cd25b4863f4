import { describe, expect, it } from 'vitest';
import { parseDicomAge, parseManifest } from './manifest.js';
import { sampleManifest } from './test-fixtures.js';

describe('manifest schema', () => {
  it('accepts a complete manifest and fills defaults', () => {
    const r = parseManifest(sampleManifest());
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.input.resampling).toBe('bilinear');
      expect(r.value.output.decoding.linkAcrossSlices).toBe(true);
    }
  });

  it('names the field that is wrong', () => {
    const m = sampleManifest() as any;
    m.output.classes[0].threshold = 1.5;
    delete m.licence;
    m.indication.ageYears = { min: 60, max: 18 };
    const r = parseManifest(m);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.some((e) => e.startsWith('output.classes.0.threshold'))).toBe(true);
      expect(r.errors.some((e) => e.startsWith('licence'))).toBe(true);
      expect(r.errors.some((e) => e.startsWith('indication.ageYears.min'))).toBe(true);
    }
  });

  it('rejects duplicate class indices, unknown keys and a model path that escapes the folder', () => {
    const m = sampleManifest() as any;
    m.output.classes.push({ ...m.output.classes[0] });
    m.files.model = '../etc/passwd.onnx';
    m.surprise = 1;
    const r = parseManifest(m);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.join('\n')).toMatch(/duplicate class index 0/);
      expect(r.errors.join('\n')).toMatch(/files\.model/);
      expect(r.errors.join('\n')).toMatch(/surprise/);
    }
  });
});

describe('input domain', () => {
  it('defaults to ORIGINAL\\PRIMARY images when a manifest declares none, and validates declared ranges', () => {
    const r = parseManifest(sampleManifest());
    expect(r.ok && r.value.domain).toEqual({ imageType: ['ORIGINAL', 'PRIMARY'] });
    const bad = { ...sampleManifest(), domain: { imageType: [], sliceThicknessMm: { min: 5, max: 1 } } };
    const b = parseManifest(bad);
    expect(b.ok).toBe(false);
    if (!b.ok) {
      expect(b.errors.some((e) => e.startsWith('domain.imageType'))).toBe(true);
      expect(b.errors.some((e) => e.startsWith('domain.sliceThicknessMm.min'))).toBe(true);
    }
  });
});

describe('parseDicomAge', () => {
  it('parses DICOM ages', () => {
    expect(parseDicomAge('045Y')).toBe(45);
    expect(parseDicomAge('006M')).toBe(0.5);
    expect(parseDicomAge('')).toBeNull();
    expect(parseDicomAge('45')).toBeNull();
  });
});
