import { describe, expect, it } from 'vitest';
import { AlertRulesSchema, DEFAULT_ALERT_RULES, checkDrift, checkRules } from './rules.js';
import { computeFigures, type FigureRow } from './figures.js';

function row(over: Partial<FigureRow>): FigureRow {
  const base = computeFigures({ produced: [{ key: 'k', findingId: 'f', studyUID: '1.2', model: 'm', version: '1', modality: 'CT', producedAt: '2026-11-02T00:00:00Z', confidence: 1, severity: 'routine', type: 't|S', placement: 'live', endedAt: null, hidden: null, verdict: 'unverified' }], shows: [], radiologistFindings: [], signoffs: [], jobs: [], health: [], healthIntervalMs: 60_000, rollouts: [], currentModes: {}, defaultMode: 'assistive', alerts: [], now: '2026-11-03T00:00:00Z' }).rows[0];
  return { ...base, ...over };
}

describe('governance alert rules', () => {
  it('the defaults are the deployment ranges, and invalid settings are refused with the field named', () => {
    expect(AlertRulesSchema.parse(DEFAULT_ALERT_RULES)).toEqual(DEFAULT_ALERT_RULES);
    const bad = AlertRulesSchema.safeParse({ ...DEFAULT_ALERT_RULES, falsePositiveRate: { min: 0.2, max: 0.1 } });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('min');
    expect(AlertRulesSchema.safeParse({ ...DEFAULT_ALERT_RULES, uptimeMin: 99.5 }).success).toBe(false);
    expect(AlertRulesSchema.safeParse({ ...DEFAULT_ALERT_RULES, extra: 1 }).success).toBe(false);
  });

  it('each range, both sides; retraining above 15 % instead of "above"; nothing judged below the minimum sample', () => {
    const rules = { ...DEFAULT_ALERT_RULES, minSample: 10 };
    const kinds = (r: Partial<FigureRow>) => checkRules(rules, [row(r)]).map((b) => `${b.metric}:${b.kind}`);
    expect(kinds({ shown: 50, falsePositiveRate: 0.1 })).toEqual([]);
    expect(kinds({ shown: 50, falsePositiveRate: 0.13 })).toEqual(['falsePositiveRate:above']);
    expect(kinds({ shown: 50, falsePositiveRate: 0.16 })).toEqual(['falsePositiveRate:retrain']);
    expect(kinds({ shown: 50, falsePositiveRate: 0.05 })).toEqual(['falsePositiveRate:below']);
    expect(kinds({ shown: 9, falsePositiveRate: 0.5 })).toEqual([]);
    expect(kinds({ criticalPositives: 10, criticalSensitivity: 0.97 })).toEqual(['criticalSensitivity:below']);
    expect(kinds({ criticalPositives: 10, criticalSensitivity: 0.98 })).toEqual([]);
    expect(kinds({ uptime: 0.994 })).toEqual(['uptime:below']);
    expect(kinds({ uptime: 0.999 })).toEqual([]);
    expect(kinds({ studiesWithResults: 10, utilisation: 0.5 })).toEqual(['utilisation:below']);
    expect(kinds({ studiesWithResults: 10, utilisation: 0.9 })).toEqual(['utilisation:above']);
    expect(kinds({ studiesWithResults: 10, utilisation: 0.7 })).toEqual([]);
    const [b] = checkRules(rules, [row({ shown: 50, falsePositiveRate: 0.16 })]);
    expect(b.message).toContain('retraining');
    expect(b.key).toBe(['m', '1', 'assistive', 'CT', '2026-W45', 'falsePositiveRate', 'retrain'].join('|'));
  });

  it('drift: a week further than the configured distance from the earlier weeks is a breach, with enough values', () => {
    const f = (n: number, distance: number | null) => ({ n, histogram: {}, referenceN: 10, distance });
    const row = { model: 'm', version: '1', week: '2026-W47', outputs: f(30, 0.6), scanner: f(30, 0.1), sliceThickness: f(5, 0.9) };
    const b = checkDrift({ ...DEFAULT_ALERT_RULES, minSample: 10 }, [row]);
    expect(b.map((x) => x.metric)).toEqual(['outputDrift']);
    expect(b[0].message).toContain('distance 0.60');
    expect(checkDrift({ ...DEFAULT_ALERT_RULES, minSample: 10, driftMaxDistance: 0.7 }, [row])).toEqual([]);
    expect(checkDrift({ ...DEFAULT_ALERT_RULES, minSample: 1 }, [row]).map((x) => x.metric)).toEqual(['outputDrift', 'sliceThicknessDrift']);
  });
});
