/**
 * Governance alert rules: the ranges deployment practice names for each AI tool (false-positive rate
 * 8–12 %, retraining above 15 %, critical-finding sensitivity at least 98 %, uptime at least 99.5 %,
 * utilisation 60–85 %), as validated settings, and the pure check of figure rows against them. A
 * figure is judged only when its denominator reaches `minSample` (a week with 3 findings says nothing).
 */
import { z } from 'zod';
import type { FigureRow } from './figures.js';
import type { DriftRow } from './drift.js';

const rate = z.number().min(0, 'a rate between 0 and 1').max(1, 'a rate between 0 and 1');
const range = z
  .object({ min: rate, max: rate })
  .strict()
  .refine((r) => r.min <= r.max, { message: 'min must not be above max', path: ['min'] });

export const AlertRulesSchema = z
  .object({
    /** Rejections as false positive / findings shown. */
    falsePositiveRate: range,
    /** Above this false-positive rate the model needs retraining (a stronger notice). */
    retrainAbove: rate,
    /** Critical findings of the final reads the model found, at least. */
    criticalSensitivityMin: rate,
    /** Model availability from the gateway's health records, at least. */
    uptimeMin: rate,
    /** Studies whose AI findings a radiologist opened / studies with AI results. */
    utilisation: range,
    /** Smallest denominator judged (findings shown, critical positives, studies with results, values of a drift week). */
    minSample: z.number().int().min(1).max(100_000),
    /** Drift: a week's distribution (output scores, scanner models, slice thicknesses, input intensity histogram) further than this from the earlier weeks (Jensen–Shannon distance, 0–1). */
    driftMaxDistance: rate.optional(),
  })
  .strict();
export type AlertRules = z.infer<typeof AlertRulesSchema>;

export const DEFAULT_ALERT_RULES: AlertRules = {
  falsePositiveRate: { min: 0.08, max: 0.12 },
  retrainAbove: 0.15,
  criticalSensitivityMin: 0.98,
  uptimeMin: 0.995,
  utilisation: { min: 0.6, max: 0.85 },
  minSample: 20,
  driftMaxDistance: 0.3,
};

export type RuleMetric = 'falsePositiveRate' | 'criticalSensitivity' | 'uptime' | 'utilisation' | 'outputDrift' | 'scannerDrift' | 'sliceThicknessDrift' | 'intensityDrift';
export type BreachKind = 'below' | 'above' | 'retrain';

export interface Breach {
  /** Stable: one notice per model/version/mode/modality/week, metric and kind. */
  key: string;
  model: string;
  version: string;
  mode: string;
  modality: string;
  week: string;
  metric: RuleMetric;
  kind: BreachKind;
  value: number;
  /** The range left, in words ("8.0–12.0 %"). */
  range: string;
  message: string;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** Rows outside the rules, one breach per metric (retraining replaces "above" for the false-positive rate). */
export function checkRules(rules: AlertRules, rows: readonly FigureRow[]): Breach[] {
  const out: Breach[] = [];
  for (const r of rows) {
    const add = (metric: RuleMetric, kind: BreachKind, value: number, range: string, what: string) => {
      out.push({
        key: [r.model, r.version, r.mode, r.modality, r.week, metric, kind].join('|'),
        model: r.model,
        version: r.version,
        mode: r.mode,
        modality: r.modality,
        week: r.week,
        metric,
        kind,
        value,
        range,
        message: `${r.model} ${r.version} (${r.mode}, ${r.modality}, ${r.week}): ${what} ${pct(value)}, ${kind === 'retrain' ? `above ${range}: retraining needed` : `outside ${range}`}`,
      });
    };
    if (r.falsePositiveRate !== null && r.shown >= rules.minSample) {
      const v = r.falsePositiveRate;
      const fr = `${pct(rules.falsePositiveRate.min)}–${pct(rules.falsePositiveRate.max)}`;
      if (v > rules.retrainAbove) add('falsePositiveRate', 'retrain', v, pct(rules.retrainAbove), 'false-positive rate');
      else if (v > rules.falsePositiveRate.max) add('falsePositiveRate', 'above', v, fr, 'false-positive rate');
      else if (v < rules.falsePositiveRate.min) add('falsePositiveRate', 'below', v, fr, 'false-positive rate');
    }
    if (r.criticalSensitivity !== null && r.criticalPositives >= rules.minSample && r.criticalSensitivity < rules.criticalSensitivityMin) {
      add('criticalSensitivity', 'below', r.criticalSensitivity, `at least ${pct(rules.criticalSensitivityMin)}`, 'critical-finding sensitivity');
    }
    // Uptime is time, not a count: judged whenever there are health records for the model.
    if (r.uptime !== null && r.uptime < rules.uptimeMin) add('uptime', 'below', r.uptime, `at least ${pct(rules.uptimeMin)}`, 'uptime');
    if (r.utilisation !== null && r.studiesWithResults >= rules.minSample) {
      const ur = `${pct(rules.utilisation.min)}–${pct(rules.utilisation.max)}`;
      if (r.utilisation < rules.utilisation.min) add('utilisation', 'below', r.utilisation, ur, 'utilisation');
      else if (r.utilisation > rules.utilisation.max) add('utilisation', 'above', r.utilisation, ur, 'utilisation');
    }
  }
  return out;
}

/** Drift weeks further than `driftMaxDistance` from their model's earlier weeks (with at least `minSample` values). */
export function checkDrift(rules: AlertRules, rows: readonly DriftRow[]): Breach[] {
  const max = rules.driftMaxDistance ?? DEFAULT_ALERT_RULES.driftMaxDistance!;
  const out: Breach[] = [];
  const names = { outputDrift: 'output score distribution', scannerDrift: 'scanner models', sliceThicknessDrift: 'slice thicknesses', intensityDrift: 'input intensity histogram' } as const;
  for (const r of rows) {
    for (const [metric, f] of [['outputDrift', r.outputs], ['scannerDrift', r.scanner], ['sliceThicknessDrift', r.sliceThickness], ['intensityDrift', r.intensity]] as const) {
      if (!f || f.distance === null || f.n < rules.minSample || f.distance <= max) continue;
      out.push({
        key: [r.model, r.version, 'any', 'all', r.week, metric, 'above'].join('|'),
        model: r.model,
        version: r.version,
        mode: 'any',
        modality: 'all',
        week: r.week,
        metric,
        kind: 'above',
        value: f.distance,
        range: `at most ${max.toFixed(2)}`,
        message: `${r.model} ${r.version} (${r.week}): ${names[metric]} drifted from the earlier weeks: distance ${f.distance.toFixed(2)} (${f.n} values), above ${max.toFixed(2)}`,
      });
    }
  }
  return out;
}
