/**
 * What the governance charts draw, as plain data (tested apart from the canvas): one series per
 * model · version · mode · modality over the ISO weeks, and the distribution of produced findings over
 * their states. Chart.js only paints these.
 */
import { VISIBILITIES, type FigureRow, type Figures, type Visibility } from '../core/governance/figures';

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
