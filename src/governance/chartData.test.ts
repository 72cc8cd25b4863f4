import { describe, expect, it } from 'vitest';
import { computeFigures, type GovernanceHistory, type ProducedRecord } from '../core/governance/figures';
import { distribution, driftBars, driftTrend, groupKey, sideBySide, trend } from './chartData';
import { HU_BINS, computeDrift, type StudyIntensity } from '../core/governance/drift';

const rec = (over: Partial<ProducedRecord>): ProducedRecord => ({ key: Math.random().toString(36), findingId: Math.random().toString(36), studyUID: '1.2.3', model: 'm', version: '1', modality: 'CT', producedAt: '2026-11-02T10:00:00Z', confidence: 0.9, severity: 'routine', type: 't|S', placement: 'live', endedAt: null, hidden: null, verdict: 'unverified', ...over });
const history = (produced: ProducedRecord[], over: Partial<GovernanceHistory> = {}): GovernanceHistory => ({ produced, shows: [], radiologistFindings: [], signoffs: [], jobs: [], health: [], healthIntervalMs: 60_000, rollouts: [], currentModes: {}, defaultMode: 'assistive', alerts: [], now: '2026-11-20T00:00:00Z', ...over });

describe('governance chart data', () => {
  it('a trend per group over every week, null where a week has nothing to divide by, in %', () => {
    const f = computeFigures(
      history([rec({ findingId: 'a', key: 'a', verdict: 'rejected', rejectReason: 'false-positive' }), rec({ findingId: 'b', key: 'b' }), rec({ findingId: 'c', key: 'c', producedAt: '2026-11-10T10:00:00Z', model: 'n' })], {
        shows: [{ studyUID: '1.2.3', at: '2026-11-03T00:00:00Z', role: 'radiologist', findingIds: ['a', 'b'] }],
      }),
    );
    const t = trend(f, 'falsePositiveRate');
    expect(t.labels).toEqual(['2026-W45', '2026-W46']);
    expect(t.series.map((s) => [s.label, s.data])).toEqual([
      ['m 1 · assistive · CT', [50, null]],
      ['n 1 · assistive · CT', [null, null]],
    ]);
    expect(new Set(t.series.map((s) => s.color)).size).toBe(2);
  });
  it('the distribution bars add up to produced; silent and assistive are paired per model', () => {
    const f = computeFigures(
      history([rec({ key: '1' }), rec({ key: '2', placement: 'superseded', endedAt: '2026-11-03T00:00:00Z' }), rec({ key: '3', producedAt: '2026-11-12T00:00:00Z', hidden: 'rollout' })], {
        rollouts: [{ model: 'm', at: '2026-11-11T00:00:00Z', before: 'assistive', after: 'silent' }],
        currentModes: { m: 'silent' },
      }),
    );
    const d = distribution(f.summary);
    f.summary.forEach((r, i) => expect(d.series.reduce((n, s) => n + (s.data[i] ?? 0), 0)).toBe(r.produced));
    expect(d.labels).toEqual(f.summary.map(groupKey));
    const pairs = sideBySide(f.summary);
    expect(pairs.length).toBe(1);
    expect(pairs[0].assistive.map((r) => r.produced)).toEqual([2]);
    expect(pairs[0].silent.map((r) => r.produced)).toEqual([1]);
  });
  it('drift: distances per feature over the weeks; the latest week beside the earlier weeks pooled by their samples', () => {
    const h = (fill: Record<number, number>) => Object.assign(new Array<number>(10).fill(0), fill) as number[];
    const st = (at: string, fill: Record<number, number>): StudyIntensity => ({ studyUID: at, model: 'm', version: '1', at, histogram: h(fill) });
    // Earlier: 3 studies all air, 1 study all water (W45); 1 study all water (W46). This week (W47): half air, half water.
    const rows = computeDrift([rec({ confidence: 0.95 })], [], [st('2026-11-02T01:00:00Z', { 0: 10 }), st('2026-11-02T02:00:00Z', { 0: 7 }), st('2026-11-02T03:00:00Z', { 0: 1 }), st('2026-11-03T00:00:00Z', { 4: 5 }), st('2026-11-10T00:00:00Z', { 4: 9 }), st('2026-11-17T00:00:00Z', { 0: 1, 4: 1 })]);
    const t = driftTrend(rows, 'm 1');
    expect(t.labels).toEqual(['2026-W45', '2026-W46', '2026-W47']);
    expect(t.series.find((s) => s.label === 'Intensity histogram')!.data[0]).toBeNull();
    expect(t.series.find((s) => s.label === 'Output scores')!.data).toEqual([null, null, null]);
    const b = driftBars(rows, 'm 1', 'intensity', HU_BINS)!;
    expect(b.week).toBe('2026-W47');
    expect(b.labels).toEqual([...HU_BINS]);
    expect(b.series.map((s) => s.label)).toEqual(['2026-W47 (1)', 'Earlier weeks (5)']);
    expect(b.series[0].data.slice(0, 5)).toEqual([50, 0, 0, 0, 50]);
    expect(b.series[1].data.slice(0, 5)).toEqual([60, 0, 0, 0, 40]); // 3 of 5 studies air, 2 water
    expect(driftBars(rows, 'm 1', 'scanner')).toBeNull();
    const scores = driftBars(rows, 'm 1', 'outputs')!;
    expect(scores.series.map((s) => [s.label, s.data])).toEqual([['2026-W45 (1)', [100]]]);
  });
});
