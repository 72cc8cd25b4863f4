/**
 * Drift, pure: per model version and ISO week, the distribution of its output scores (confidence) and of
 * its inputs (scanner model, slice thickness, pixel intensity histogram) compared with all its earlier
 * weeks. The distance is the Jensen–Shannon distance (base 2: 0 = the same distribution, 1 = nothing in
 * common) between the week's histogram and the reference's. A week is judged only with at least
 * `minSample` values (outputs, or studies for the inputs).
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

/** The pixel intensities of a study as a model read them: counts per HU_BINS summed over the slices the pre-read gave it. */
export interface StudyIntensity {
  studyUID: string;
  model: string;
  version: string;
  at: string;
  histogram: readonly number[];
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

/**
 * Fixed CT intensity bins (HU), the same for every model and week so weeks compare: air, lung, fat,
 * water/CSF, brain and soft tissue, blood and enhancement, contrast and calcification, bone, dense bone
 * and metal. Coarse on purpose: a drift signal (a new kernel, contrast given, another field of view),
 * not a diagnostic measure.
 */
export const HU_EDGES = [-900, -500, -100, -20, 20, 50, 100, 300, 1000] as const;
export const HU_BINS: readonly string[] = HU_EDGES.map((e, i) => (i === 0 ? `<${e}` : `${HU_EDGES[i - 1]}..${e}`)).concat(`>=${HU_EDGES.at(-1)}`);

/** Pixel counts per HU_BINS (a value on an edge goes to the bin above it); non-finite values are not counted. */
export function huHistogram(values: ArrayLike<number>): number[] {
  const counts = new Array<number>(HU_BINS.length).fill(0);
  const edges = HU_EDGES;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    let b = 0;
    while (b < edges.length && v >= edges[b]) b++;
    counts[b]++;
  }
  return counts;
}

/**
 * One slice's HU histogram as the pre-read keeps it with the slice's output, or null when its values are
 * not HU: a model not only for CT (the worker does not know the slice's modality; the model's indication
 * does), or values declared in other units (Rescale Type).
 */
export function sliceIntensityHistogram(modalities: readonly string[], rescaleType: string | null, values: ArrayLike<number>): number[] | null {
  if (!modalities.length || modalities.some((m) => m.toUpperCase() !== 'CT')) return null;
  if (rescaleType && rescaleType.trim().toUpperCase() !== 'HU') return null;
  return huHistogram(values);
}

/** Element-wise sum of slice histograms (a study's); null when none. */
export function sumHistograms(hs: readonly (readonly number[] | null | undefined)[]): number[] | null {
  const got = hs.filter((h): h is readonly number[] => Array.isArray(h) && h.length === HU_BINS.length);
  if (!got.length) return null;
  return HU_BINS.map((_, i) => got.reduce((a, h) => a + (Number(h[i]) || 0), 0));
}

/**
 * The mean of per-study intensity distributions, as fractions per bin (each study counts once, however
 * many slices or pixels it has: the sample is studies, not pixels).
 */
export function meanIntensity(studies: readonly (readonly number[])[]): Histogram {
  const h: Histogram = {};
  const used = studies.filter((s) => s.reduce((a, b) => a + b, 0) > 0);
  for (const s of used) {
    const total = s.reduce((a, b) => a + b, 0);
    HU_BINS.forEach((bin, i) => {
      if (s[i] > 0) h[bin] = (h[bin] ?? 0) + s[i] / total / used.length;
    });
  }
  return h;
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
  /** Input intensity: mean per-study HU histogram (fractions), n = studies with one. Optional: rows built before it existed. */
  intensity?: DriftFeature;
}

function feature(current: string[], reference: string[]): DriftFeature {
  const histogramNow = histogram(current);
  return { n: current.length, histogram: histogramNow, referenceN: reference.length, distance: jsDistance(histogramNow, histogram(reference)) };
}

function intensityFeature(current: (readonly number[])[], reference: (readonly number[])[]): DriftFeature {
  const histogramNow = meanIntensity(current);
  return { n: current.length, histogram: histogramNow, referenceN: reference.length, distance: jsDistance(histogramNow, meanIntensity(reference)) };
}

export function computeDrift(produced: readonly ProducedRecord[], inputs: readonly StudyInput[], intensities: readonly StudyIntensity[] = []): DriftRow[] {
  const key = (m: string, v: string) => `${m}\u0000${v}`;
  const groups = new Set([...produced.map((r) => key(r.model, r.version)), ...inputs.map((i) => key(i.model, i.version)), ...intensities.map((i) => key(i.model, i.version))]);
  const rows: DriftRow[] = [];
  for (const g of [...groups].sort()) {
    const [model, version] = g.split('\u0000');
    const outs = produced.filter((r) => r.model === model && r.version === version && r.placement !== 'superseded').map((r) => ({ week: isoWeek(r.producedAt), bin: confidenceBin(r.confidence) }));
    const ins = inputs.filter((i) => i.model === model && i.version === version).map((i) => ({ week: isoWeek(i.at), scanner: i.scanner ?? 'unknown', thick: i.sliceThickness === null ? 'unknown' : thicknessBin(i.sliceThickness) }));
    const his = intensities.filter((i) => i.model === model && i.version === version && i.histogram.some((x) => x > 0)).map((i) => ({ week: isoWeek(i.at), h: i.histogram }));
    const hu = (sel: (w: string) => boolean) => his.filter((i) => sel(i.week)).map((i) => i.h);
    const weeks = [...new Set([...outs.map((o) => o.week), ...ins.map((i) => i.week), ...his.map((i) => i.week)])].sort();
    for (const week of weeks) {
      const before = (w: string) => w < week;
      rows.push({
        model,
        version,
        week,
        outputs: feature(outs.filter((o) => o.week === week).map((o) => o.bin), outs.filter((o) => before(o.week)).map((o) => o.bin)),
        scanner: feature(ins.filter((i) => i.week === week).map((i) => i.scanner), ins.filter((i) => before(i.week)).map((i) => i.scanner)),
        sliceThickness: feature(ins.filter((i) => i.week === week).map((i) => i.thick), ins.filter((i) => before(i.week)).map((i) => i.thick)),
        intensity: intensityFeature(hu((w) => w === week), hu(before)),
      });
    }
  }
  return rows;
}

const FEATURES = ['outputs', 'scanner', 'sliceThickness', 'intensity'] as const;

/** One CSV line per model version and week: each feature's sample, reference sample and distance, and the intensity histogram (fractions per HU bin). */
export function driftToCsv(rows: readonly DriftRow[]): string {
  const head = ['model', 'version', 'week', ...FEATURES.flatMap((f) => [`${f}_n`, `${f}_reference_n`, `${f}_distance`]), ...HU_BINS.map((b) => `intensity_hu_${b}`)];
  const cell = (v: string | number | null | undefined) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = rows.map((r) =>
    [
      r.model,
      r.version,
      r.week,
      ...FEATURES.flatMap((f) => {
        const x = r[f];
        return x ? [x.n, x.referenceN, x.distance === null ? null : Math.round(x.distance * 10_000) / 10_000] : [0, 0, null];
      }),
      ...HU_BINS.map((b) => (r.intensity?.n ? Math.round((r.intensity.histogram[b] ?? 0) * 10_000) / 10_000 : null)),
    ]
      .map(cell)
      .join(','),
  );
  return [head.join(','), ...lines].join('\n') + '\n';
}
