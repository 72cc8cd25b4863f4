import { describe, expect, it } from 'vitest';
import { computeDrift, jsDistance, confidenceBin, thicknessBin, type StudyInput } from './drift.js';
import type { ProducedRecord } from './figures.js';

let n = 0;
const out = (producedAt: string, confidence: number, over: Partial<ProducedRecord> = {}): ProducedRecord => ({ key: `k${++n}`, findingId: `f${n}`, studyUID: '1.2', model: 'm', version: '1', modality: 'CT', producedAt, confidence, severity: 'routine', type: 't|S', placement: 'live', endedAt: null, hidden: null, verdict: 'unverified', ...over });
const W1 = '2026-11-02T10:00:00Z';
const W2 = '2026-11-09T10:00:00Z';
const W3 = '2026-11-16T10:00:00Z';

describe('drift', () => {
  it('Jensen–Shannon distance: 0 for the same distribution (any scale), 1 for disjoint ones, symmetric, null when empty', () => {
    expect(jsDistance({ a: 1, b: 3 }, { a: 10, b: 30 })).toBeCloseTo(0, 9);
    expect(jsDistance({ a: 5 }, { b: 5 })).toBeCloseTo(1, 9);
    const x = jsDistance({ a: 1, b: 2, c: 7 }, { a: 4, b: 4, c: 2 })!;
    expect(x).toBeGreaterThan(0);
    expect(x).toBeLessThan(1);
    expect(jsDistance({ a: 4, b: 4, c: 2 }, { a: 1, b: 2, c: 7 })).toBeCloseTo(x, 12);
    expect(jsDistance({}, { a: 1 })).toBeNull();
  });
  it('bins', () => {
    expect(confidenceBin(0)).toBe('0.0–0.1');
    expect(confidenceBin(1)).toBe('0.9–1.0');
    expect(thicknessBin(0.625)).toBe('<1 mm');
    expect(thicknessBin(5)).toBe('≥5 mm');
  });
  it('each week against all earlier weeks: a stable model stays near 0, a shifted score distribution and a new scanner are far', () => {
    const produced = [
      ...[0.92, 0.95, 0.97, 0.99].map((c) => out(W1, c)),
      ...[0.93, 0.96, 0.98, 0.91].map((c) => out(W2, c)),
      ...[0.31, 0.42, 0.35, 0.38].map((c) => out(W3, c)),
      out(W3, 0.1, { placement: 'superseded', endedAt: W3 }), // replaced by its re-read: not an output of the model any more
    ];
    const inp = (at: string, scanner: string, t: number): StudyInput => ({ studyUID: `s${++n}`, model: 'm', version: '1', at, scanner, sliceThickness: t });
    const inputs = [inp(W1, 'Acme CT 64', 0.625), inp(W2, 'Acme CT 64', 0.625), inp(W3, 'Other 16', 5)];
    const rows = computeDrift(produced, inputs);
    expect(rows.map((r) => r.week)).toEqual(['2026-W45', '2026-W46', '2026-W47']);
    expect(rows[0].outputs.distance).toBeNull(); // nothing before
    expect(rows[1].outputs.distance!).toBeLessThan(0.3);
    expect(rows[2].outputs.distance!).toBeCloseTo(1, 6);
    expect(rows[2].outputs.n).toBe(4);
    expect(rows[1].scanner.distance).toBeCloseTo(0, 9);
    expect(rows[2].scanner.distance).toBeCloseTo(1, 9);
    expect(rows[2].sliceThickness.histogram).toEqual({ '≥5 mm': 1 });
  });
});
