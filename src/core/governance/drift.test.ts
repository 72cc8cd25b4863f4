import { describe, expect, it } from 'vitest';
import { computeDrift, jsDistance, confidenceBin, thicknessBin, huHistogram, sliceIntensityHistogram, sumHistograms, meanIntensity, driftToCsv, HU_BINS, type StudyInput, type StudyIntensity } from './drift.js';
import { DEFAULT_ALERT_RULES, checkDrift } from './rules.js';
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

  it('Jensen–Shannon distance against values worked out by hand', () => {
    // p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4): JS = ½·log2(4/3) + ½·(½·log2(2/3) + ½·log2(2)) = 0.311278; distance = √JS.
    expect(jsDistance({ a: 1 }, { a: 1, b: 1 })).toBeCloseTo(0.557923, 6);
    // p = (.6, .4, 0), q = (.2, .3, .5): JS = 0.330659, distance 0.575029.
    expect(jsDistance({ a: 6, b: 4 }, { a: 2, b: 3, c: 5 })).toBeCloseTo(0.575029, 6);
  });

  it('HU histogram: fixed bins, a value on an edge in the bin above, non-finite values not counted', () => {
    expect(HU_BINS).toEqual(['<-900', '-900..-500', '-500..-100', '-100..-20', '-20..20', '20..50', '50..100', '100..300', '300..1000', '>=1000']);
    expect(huHistogram([-1000, -900, -899, -500, 0, 19.9, 20, 1000, 5000, NaN, Infinity])).toEqual([1, 2, 1, 0, 2, 1, 0, 0, 0, 2]);
    expect(huHistogram(new Int16Array([-1024, -1024, 40, 60]))).toEqual([2, 0, 0, 0, 0, 1, 1, 0, 0, 0]);
    // Only where the values are HU: a CT model, no other Rescale Type.
    expect(sliceIntensityHistogram(['CT'], null, [0, 40])).toEqual([0, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
    expect(sliceIntensityHistogram(['CT'], 'HU', [0])).not.toBeNull();
    expect(sliceIntensityHistogram(['CT'], 'US', [0])).toBeNull();
    expect(sliceIntensityHistogram(['CR'], null, [0])).toBeNull();
    expect(sliceIntensityHistogram(['CT', 'MR'], null, [0])).toBeNull();
    expect(sumHistograms([[1, 0, 0, 0, 0, 0, 0, 0, 0, 2], null, [0, 3, 0, 0, 0, 0, 0, 0, 0, 1], [5]])).toEqual([1, 3, 0, 0, 0, 0, 0, 0, 0, 3]);
    expect(sumHistograms([null, undefined])).toBeNull();
  });

  it('intensity drift: studies weigh the same whatever their size; a week against the earlier weeks; breach through the alert rules; in the CSV', () => {
    const z = () => new Array<number>(10).fill(0);
    const h = (fill: Record<number, number>) => Object.assign(z(), fill) as number[];
    // Two studies: all air (1000 px) and half air half lung (10 px): the mean is ¾ air, ¼ lung, not weighted by pixels.
    expect(meanIntensity([h({ 0: 1000 }), h({ 0: 5, 1: 5 })])).toEqual({ '<-900': 0.75, '-900..-500': 0.25 });
    const st = (at: string, fill: Record<number, number>): StudyIntensity => ({ studyUID: `s${++n}`, model: 'm', version: '1', at, histogram: h(fill) });
    const rows = computeDrift([], [], [st(W1, { 0: 100 }), st(W1, { 0: 300 }), st(W2, { 0: 50, 1: 50 }), st(W3, { 4: 1 }), { ...st(W3, {}), histogram: z() }]);
    expect(rows.map((r) => [r.week, r.intensity!.n, r.intensity!.referenceN])).toEqual([['2026-W45', 2, 0], ['2026-W46', 1, 2], ['2026-W47', 1, 3]]);
    expect(rows[0].intensity!.distance).toBeNull();
    // W46 (½, ½) against W45 (1, 0): the hand-computed 0.557923.
    expect(rows[1].intensity!.distance).toBeCloseTo(0.557923, 6);
    expect(rows[2].intensity!.distance).toBeCloseTo(1, 9); // water only: nothing in common with air and lung
    expect(rows[1].outputs.n).toBe(0);

    const breaches = checkDrift({ ...DEFAULT_ALERT_RULES, minSample: 1, driftMaxDistance: 0.5 }, rows);
    expect(breaches.map((b) => [b.week, b.metric])).toEqual([['2026-W46', 'intensityDrift'], ['2026-W47', 'intensityDrift']]);
    expect(breaches[0].message).toContain('input intensity histogram drifted');
    expect(checkDrift({ ...DEFAULT_ALERT_RULES, minSample: 2, driftMaxDistance: 0.5 }, rows)).toEqual([]); // one study a week is too few

    const [head, ...lines] = driftToCsv(rows).trim().split('\n');
    const cols = head.split(',');
    const w46 = Object.fromEntries(lines[1].split(',').map((v, i) => [cols[i], v]));
    expect(w46).toMatchObject({ model: 'm', week: '2026-W46', intensity_n: '1', intensity_reference_n: '2', intensity_distance: '0.5579', 'intensity_hu_<-900': '0.5', 'intensity_hu_-900..-500': '0.5', 'intensity_hu_>=1000': '0', outputs_n: '0', outputs_distance: '' });
  });
});
