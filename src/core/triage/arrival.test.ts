import { describe, expect, it } from 'vitest';
import * as arrival from './arrival.js';
import { backoffMs, deriveAiState, imageFingerprint, isIgnoredSeries, OUR_MANUFACTURER } from './arrival.js';
import { ageYearsOf } from '../study/facts.js';

describe('isIgnoredSeries', () => {
  it('ignores SR and our own output, reads images', () => {
    expect(isIgnoredSeries({ Modality: 'SR' })).toBe(true);
    expect(isIgnoredSeries({ Modality: 'CT', Manufacturer: OUR_MANUFACTURER })).toBe(true);
    expect(isIgnoredSeries({ Modality: 'OT', SeriesDescription: 'Reading Station AI heatmap' })).toBe(true);
    expect(isIgnoredSeries({ Modality: 'CT', Manufacturer: 'GE MEDICAL SYSTEMS', SeriesDescription: 'HEAD' })).toBe(false);
  });
});

describe('imageFingerprint', () => {
  it('is order independent and changes when images are added', () => {
    const a = imageFingerprint(['1.2.3', '1.2.4']);
    expect(imageFingerprint(['1.2.4', '1.2.3', '1.2.3'])).toBe(a);
    expect(a.startsWith('2:')).toBe(true);
    expect(imageFingerprint(['1.2.3', '1.2.4', '1.2.5'])).not.toBe(a);
    expect(imageFingerprint(['1.2.3', '1.2.40'])).not.toBe(a);
  });
});

// The pre-read's age is THE study-facts age (src/core/study/facts.ts), as the browser's and ai-status's:
// arrival has no age function of its own any more (it used "today" for a study without a date).
describe('age for routing: the one study-facts function', () => {
  it('arrival exports no age function of its own', () => {
    expect(Object.keys(arrival).filter((k) => /\bage|Age/.test(k))).toEqual([]);
  });
  it('reads PatientAge in years, months, weeks, days', () => {
    expect(ageYearsOf({ PatientAge: '009Y' })).toBe(9);
    expect(ageYearsOf({ PatientAge: '018M' })).toBe(1.5);
    expect(ageYearsOf({ PatientAge: '052W' })).toBeCloseTo(0.996, 2);
    expect(ageYearsOf({ PatientAge: '365D' })).toBeCloseTo(1, 2);
  });
  it('falls back to birth date at the study date, never at today; null when unknown', () => {
    expect(ageYearsOf({ PatientBirthDate: '20000101', StudyDate: '20200101' })).toBeCloseTo(20, 1);
    expect(ageYearsOf({ PatientBirthDate: '20200101' })).toBeNull();
    expect(ageYearsOf({})).toBeNull();
    expect(ageYearsOf({ PatientAge: 'abc', PatientBirthDate: 'x' })).toBeNull();
  });
});

describe('backoffMs', () => {
  it('doubles and caps', () => {
    expect([1, 2, 3].map((n) => backoffMs(n, 1000))).toEqual([1000, 2000, 4000]);
    expect(backoffMs(30, 1000, 60_000)).toBe(60_000);
  });
});

describe('deriveAiState', () => {
  const base = { override: null, workersUp: true, waitedMs: 0, timeoutMs: 10_000 } as const;
  it('follows the jobs', () => {
    expect(deriveAiState({ ...base, jobs: [] })).toBe('skipped');
    expect(deriveAiState({ ...base, jobs: [{ state: 'pending' }] })).toBe('pending');
    expect(deriveAiState({ ...base, jobs: [{ state: 'pending' }, { state: 'running' }] })).toBe('running');
    expect(deriveAiState({ ...base, jobs: [{ state: 'done' }, { state: 'failed' }] })).toBe('done');
    expect(deriveAiState({ ...base, jobs: [{ state: 'failed' }] })).toBe('failed');
  });
  it('is unavailable when workers are down or the wait is over the limit, disabled when switched off', () => {
    expect(deriveAiState({ ...base, workersUp: false, jobs: [{ state: 'pending' }] })).toBe('unavailable');
    expect(deriveAiState({ ...base, waitedMs: 10_001, jobs: [{ state: 'running' }] })).toBe('unavailable');
    expect(deriveAiState({ ...base, workersUp: false, jobs: [{ state: 'done' }] })).toBe('done');
    expect(deriveAiState({ ...base, override: 'disabled', jobs: [{ state: 'done' }] })).toBe('disabled');
  });
});
