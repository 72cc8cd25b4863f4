/**
 * What the governance charts draw, as plain data (tested apart from the canvas): one series per
 * model · version · mode · modality over the ISO weeks, and the distribution of produced findings over
 * their states. Chart.js only paints these.
 */
import { VISIBILITIES, type FigureRow, type Figures, type Visibility } from '../core/governance/figures';
import type { DriftFeature, DriftRow } from '../core/governance/drift';

export const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45'];

export const VISIBILITY_LABELS: Record<Visibility, string> = {
  shown: 'Shown',
  'not-opened': 'Not opened yet',
  'hidden-ai-disabled': 'Hidden: AI disabled',
  'hidden-rollout': 'Hidden: silent/off',
  'hidden-indication': 'Hidden: outside indication',
  superseded: 'Superseded by a re-read',
  'after-signoff': 'After sign-off',
};

export const groupKey = (r: Pick<FigureRow, 'model' | 'version' | 'mode' | 'modality'>) => `${r.model} ${r.version} · ${r.mode} · ${r.modality}`;

export interface Series {
  label: string;
  color: string;
  data: (number | null)[];
}

export type TrendMetric = 'falsePositiveRate' | 'agreementRate' | 'modifyRate' | 'utilisation' | 'criticalSensitivity' | 'uptime';

/** A rate per week per group, as a percentage (null where the week has no denominator). */
export function trend(f: Pick<Figures, 'weeks' | 'rows'>, metric: TrendMetric): { labels: string[]; series: Series[] } {
  const groups = [...new Set(f.rows.map(groupKey))].sort();
  return {
    labels: f.weeks,
    series: groups.map((g, i) => ({
      label: g,
      color: PALETTE[i % PALETTE.length],
      data: f.weeks.map((w) => {
        const r = f.rows.find((x) => groupKey(x) === g && x.week === w);
        const v = r ? r[metric] : null;
        return v === null || v === undefined ? null : Math.round(v * 1000) / 10;
      }),
    })),
  };
}

/** Produced findings per group, split by state: the bars add up to `produced`. */
export function distribution(summary: readonly FigureRow[]): { labels: string[]; series: Series[] } {
  return {
    labels: summary.map(groupKey),
    series: VISIBILITIES.map((v, i) => ({ label: VISIBILITY_LABELS[v], color: PALETTE[i % PALETTE.length], data: summary.map((r) => r.byVisibility[v]) })),
  };
}

/** Side by side: per model and version, the assistive and the silent figures. */
export function sideBySide(summary: readonly FigureRow[]): { model: string; version: string; assistive: FigureRow[]; silent: FigureRow[] }[] {
  const keys = [...new Set(summary.map((r) => `${r.model}\u0000${r.version}`))].sort();
  return keys.map((k) => {
    const [model, version] = k.split('\u0000');
    const mine = summary.filter((r) => r.model === model && r.version === version);
    return { model, version, assistive: mine.filter((r) => r.mode === 'assistive'), silent: mine.filter((r) => r.mode === 'silent') };
  });
}

// ---- drift (GET /api/governance/drift): distances per week and "this week against the earlier weeks"

export const DRIFT_FEATURES = [
  { key: 'outputs', label: 'Output scores' },
  { key: 'scanner', label: 'Scanners' },
  { key: 'sliceThickness', label: 'Slice thickness' },
  { key: 'intensity', label: 'Intensity histogram' },
] as const;
export type DriftFeatureKey = (typeof DRIFT_FEATURES)[number]['key'];

export const driftGroup = (r: Pick<DriftRow, 'model' | 'version'>) => `${r.model} ${r.version}`;

/** One model version's distance from its earlier weeks, per feature over its weeks (null: nothing to compare). */
export function driftTrend(rows: readonly DriftRow[], group: string): { labels: string[]; series: Series[] } {
  const mine = rows.filter((r) => driftGroup(r) === group);
  return {
    labels: mine.map((r) => r.week),
    series: DRIFT_FEATURES.map((f, i) => ({ label: f.label, color: PALETTE[i], data: mine.map((r) => (r[f.key]?.distance === null || r[f.key] === undefined ? null : Math.round(r[f.key]!.distance! * 1000) / 1000)) })),
  };
}

/**
 * A feature's distribution in the model version's latest week that has values, beside the pooled earlier
 * weeks (each week's histogram normalised and weighted by its sample: counts for scores, studies for the
 * intensity), in % per bin. null when no week has values.
 */
export function driftBars(rows: readonly DriftRow[], group: string, feature: DriftFeatureKey, bins?: readonly string[]): { week: string; labels: string[]; series: Series[] } | null {
  const mine = rows.filter((r) => driftGroup(r) === group && (r[feature]?.n ?? 0) > 0);
  const last = mine.at(-1);
  if (!last) return null;
  const norm = (f: DriftFeature) => {
    const t = Object.values(f.histogram).reduce((a, b) => a + b, 0);
    return (k: string) => (t > 0 ? (f.histogram[k] ?? 0) / t : 0);
  };
  const earlier = mine.filter((r) => r.week < last.week).map((r) => r[feature]!);
  const refN = earlier.reduce((a, f) => a + f.n, 0);
  const labels = bins ? [...bins] : [...new Set(mine.flatMap((r) => Object.keys(r[feature]!.histogram)))].sort();
  const pct = (x: number) => Math.round(x * 1000) / 10;
  return {
    week: last.week,
    labels,
    series: [
      { label: `${last.week} (${last[feature]!.n})`, color: PALETTE[2], data: labels.map((k) => pct(norm(last[feature]!)(k))) },
      ...(refN > 0 ? [{ label: `Earlier weeks (${refN})`, color: PALETTE[3], data: labels.map((k) => pct(earlier.reduce((a, f) => a + norm(f)(k) * f.n, 0) / refN)) }] : []),
    ],
  };
}
