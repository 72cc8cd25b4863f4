import { describe, expect, it } from 'vitest';
import { computeFigures, type GovernanceHistory, type ProducedRecord } from '../core/governance/figures';
import { distribution, groupKey, sideBySide, trend } from './chartData';

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
});
