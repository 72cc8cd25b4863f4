import { describe, expect, it } from 'vitest';
import { measurementText, parseMeasurementInput } from './measurement';

const ok = { tool: 'length', seriesInstanceUID: '1.2.3', sopInstanceUID: '1.2.3.4', frameNumber: 1, points: [[0, 0, 0], [10, 0, 0]], stats: { length: 10, unit: 'mm' } };

describe('measurement input', () => {
  it('accepts a well-formed measurement and keeps only known figures', () => {
    const r = parseMeasurementInput(ok);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value).toEqual(ok);
    expect(parseMeasurementInput({ ...ok, stats: { length: 10, mean: null } }).ok).toBe(true);
  });

  it('refuses what the server stamps, unknown fields, and wrong point counts per tool', () => {
    const r = parseMeasurementInput({ ...ok, createdBy: 'mallory', updatedAt: '2020-01-01' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join(' ')).toMatch(/createdBy: set by the server.*updatedAt: set by the server/);
    expect(parseMeasurementInput({ ...ok, colour: 'red' }).ok).toBe(false);
    expect(parseMeasurementInput({ ...ok, tool: 'angle' }).ok).toBe(false); // an angle needs 3 points
    expect(parseMeasurementInput({ ...ok, tool: 'probe', points: [[1, 2, 3]], stats: { value: 40, modalityUnit: 'HU' } }).ok).toBe(true);
    expect(parseMeasurementInput({ ...ok, points: [[0, 0], [1, 1]] }).ok).toBe(false);
    expect(parseMeasurementInput({ ...ok, points: [[0, 0, NaN], [1, 1, 1]] }).ok).toBe(false);
    expect(parseMeasurementInput({ ...ok, sopInstanceUID: '1.2.x' }).ok).toBe(false);
    expect(parseMeasurementInput({ ...ok, frameNumber: 0 }).ok).toBe(false);
    expect(parseMeasurementInput({ ...ok, stats: { length: 'long' } }).ok).toBe(false);
    expect(parseMeasurementInput({ ...ok, stats: { volume: 3 } }).ok).toBe(false);
    expect(parseMeasurementInput([ok]).ok).toBe(false);
  });

  it('says the figure with its unit (px when the image has no spacing)', () => {
    expect(measurementText({ tool: 'length', stats: { length: 45.234, unit: 'mm' } })).toBe('45.23 mm');
    expect(measurementText({ tool: 'length', stats: { length: 12 } })).toBe('12.00 px');
    expect(measurementText({ tool: 'angle', stats: { angle: 32.04 } })).toBe('32.0°');
    expect(measurementText({ tool: 'ellipse', stats: { mean: 41.26, stdDev: 3.1, min: 20, max: 60, area: 120, areaUnit: 'mm²', modalityUnit: 'HU' } })).toBe('mean 41.3 HU · SD 3.1 · min 20 · max 60 · 120.0 mm²');
  });
});
