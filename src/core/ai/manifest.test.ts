import { describe, expect, it } from 'vitest';
import { indicationCheck, parseDicomAge, parseManifest } from './manifest.js';
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

describe('indicationCheck', () => {
  const r = parseManifest(sampleManifest());
  if (!r.ok) throw new Error('fixture invalid');
  const m = r.value;
  it('accepts a study inside the indication', () => {
    expect(indicationCheck(m, { modality: 'CT', bodyPart: 'HEAD', patientAgeYears: 45 })).toEqual({ ok: true });
    expect(indicationCheck(m, { modality: 'ct', bodyPart: 'brain' })).toEqual({ ok: true });
  });
  it('says why a study is outside it', () => {
    expect(indicationCheck(m, { modality: 'CT', bodyPart: 'HEAD', patientAgeYears: 9 })).toEqual({ ok: false, reason: 'outside indication: age 9 < 18' });
    expect(indicationCheck(m, { modality: 'MR', bodyPart: 'HEAD' })).toEqual({ ok: false, reason: 'outside indication: modality MR not in CT' });
    expect(indicationCheck(m, { modality: 'CT', bodyPart: 'CHEST' })).toEqual({ ok: false, reason: 'outside indication: body part CHEST not in HEAD' });
    expect(indicationCheck(m, { modality: 'CT', patientAgeYears: 121 })).toEqual({ ok: false, reason: 'outside indication: age 121 > 120' });
  });
  it('parses DICOM ages', () => {
    expect(parseDicomAge('045Y')).toBe(45);
    expect(parseDicomAge('006M')).toBe(0.5);
    expect(parseDicomAge('')).toBeNull();
    expect(parseDicomAge('45')).toBeNull();
  });
});
