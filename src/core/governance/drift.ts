/**
 * Drift, pure: per model version and ISO week, the distribution of its output scores (confidence) and of
 * its inputs (scanner model, slice thickness) compared with all its earlier weeks. The distance is the
 * Jensen–Shannon distance (base 2: 0 = the same distribution, 1 = nothing in common) between the
 * week's histogram and the reference's. A week is judged only with at least `minSample` values.
 */
import { isoWeek, type ProducedRecord } from './figures.js';

/** What the gateway knows of a study a model read: its scanner and slice thickness (DICOM header). */
export interface StudyInput {
  studyUID: string;
  model: string;
  version: string;
  at: string;
  scanner: string | null;
  sliceThickness: number | null;
}

export type Histogram = Record<string, number>;

export const CONFIDENCE_BINS = Array.from({ length: 10 }, (_, i) => `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`);
export const THICKNESS_BINS = ['<1 mm', '1–2 mm', '2–3 mm', '3–5 mm', '≥5 mm'] as const;

export function confidenceBin(c: number): string {
  return CONFIDENCE_BINS[Math.min(9, Math.max(0, Math.floor(c * 10)))];
}
export function thicknessBin(mm: number): string {
  return mm < 1 ? THICKNESS_BINS[0] : mm < 2 ? THICKNESS_BINS[1] : mm < 3 ? THICKNESS_BINS[2] : mm < 5 ? THICKNESS_BINS[3] : THICKNESS_BINS[4];
}

function histogram(values: readonly string[]): Histogram {
  const h: Histogram = {};
  for (const v of values) h[v] = (h[v] ?? 0) + 1;
  return h;
}

/** Jensen–Shannon distance between two histograms (counts), base 2, in [0, 1]; null when either is empty. */
export function jsDistance(a: Histogram, b: Histogram): number | null {
  const na = Object.values(a).reduce((x, y) => x + y, 0);
  const nb = Object.values(b).reduce((x, y) => x + y, 0);
  if (!na || !nb) return null;
  let js = 0;
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const p = (a[k] ?? 0) / na;
    const q = (b[k] ?? 0) / nb;
    const m = (p + q) / 2;
    if (p > 0) js += 0.5 * p * Math.log2(p / m);
    if (q > 0) js += 0.5 * q * Math.log2(q / m);
  }
  return Math.sqrt(Math.max(0, Math.min(1, js)));
}

export interface DriftFeature {
  n: number;
  histogram: Histogram;
  referenceN: number;
  distance: number | null;
}

export interface DriftRow {
  model: string;
  version: string;
  week: string;
  outputs: DriftFeature;
  scanner: DriftFeature;
  sliceThickness: DriftFeature;
}

function feature(current: string[], reference: string[]): DriftFeature {
  const histogramNow = histogram(current);
  return { n: current.length, histogram: histogramNow, referenceN: reference.length, distance: jsDistance(histogramNow, histogram(reference)) };
}

export function computeDrift(produced: readonly ProducedRecord[], inputs: readonly StudyInput[]): DriftRow[] {
  const key = (m: string, v: string) => `${m}\u0000${v}`;
  const groups = new Set([...produced.map((r) => key(r.model, r.version)), ...inputs.map((i) => key(i.model, i.version))]);
  const rows: DriftRow[] = [];
  for (const g of [...groups].sort()) {
    const [model, version] = g.split('\u0000');
    const outs = produced.filter((r) => r.model === model && r.version === version && r.placement !== 'superseded').map((r) => ({ week: isoWeek(r.producedAt), bin: confidenceBin(r.confidence) }));
    const ins = inputs.filter((i) => i.model === model && i.version === version).map((i) => ({ week: isoWeek(i.at), scanner: i.scanner ?? 'unknown', thick: i.sliceThickness === null ? 'unknown' : thicknessBin(i.sliceThickness) }));
    const weeks = [...new Set([...outs.map((o) => o.week), ...ins.map((i) => i.week)])].sort();
    for (const week of weeks) {
      const before = (w: string) => w < week;
      rows.push({
        model,
        version,
        week,
        outputs: feature(outs.filter((o) => o.week === week).map((o) => o.bin), outs.filter((o) => before(o.week)).map((o) => o.bin)),
        scanner: feature(ins.filter((i) => i.week === week).map((i) => i.scanner), ins.filter((i) => before(i.week)).map((i) => i.scanner)),
        sliceThickness: feature(ins.filter((i) => i.week === week).map((i) => i.thick), ins.filter((i) => before(i.week)).map((i) => i.thick)),
      });
    }
  }
  return rows;
}
