/**
 * THE domain guard on pixel values: whether the images a model is given look like its declared
 * domain (e.g. a non-contrast head CT: HU values, air around the head, a skull, brain-range tissue
 * that is not uniform). The header checks (modality, body part, ImageType, thickness, spacing) are
 * the eligibility rule's (eligibility.ts); this is the part only the pixels can tell: a perfusion map
 * relabelled ORIGINAL, a phantom, a non-HU series. One rule, isomorphic: the browser and the server's
 * pre-read both call it, on per-slice statistics summed over the series, before an output counts.
 *
 * Statistics are additive (counts, sums) so the pre-read can compute them per slice as slices arrive,
 * store them, and decide on any subset (slices read so far) or on the whole series, without reading
 * a slice twice.
 */
import type { ModelManifest } from './manifest.js';
import { str, type DicomJson } from '../imaging/dicomJson.js';

export type IntensityGuard = NonNullable<ModelManifest['domain']['intensity']>;

/** The words every refusal of this guard starts with: what the study shows. */
export const OUTSIDE_DOMAIN = "outside the model's domain";

/** Additive per-slice statistics for one guard's parameters. */
export interface IntensityStats {
  /** Pixels counted. */
  pixels: number;
  /** Pixels outside the guard's value range (or not finite): not modality values of the declared units. */
  outOfRange: number;
  /** Pixels above the guard's body threshold (the patient, not the air around). */
  body: number;
  /** Per band (manifest order): pixels in [minHu, maxHu], their sum and sum of squares. */
  bands: { count: number; sum: number; sumSq: number }[];
  /** Slices summed into these statistics. */
  slices: number;
}

export function emptyStats(guard: IntensityGuard): IntensityStats {
  return { pixels: 0, outOfRange: 0, body: 0, bands: guard.bands.map(() => ({ count: 0, sum: 0, sumSq: 0 })), slices: 0 };
}

/** One slice's statistics from its modality values (HU for CT: rescale already applied). */
export function sliceStats(values: ArrayLike<number>, guard: IntensityGuard): IntensityStats {
  const s = emptyStats(guard);
  const { min, max } = guard.valueRange;
  const bands = guard.bands;
  const nb = bands.length;
  const lo = bands.map((b) => b.minHu);
  const hi = bands.map((b) => b.maxHu);
  const body = guard.bodyAboveHu;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    s.pixels++;
    if (!Number.isFinite(v)) {
      s.outOfRange++;
      continue;
    }
    if (v < min || v > max) s.outOfRange++;
    if (v > body) s.body++;
    for (let b = 0; b < nb; b++) {
      if (v >= lo[b] && v <= hi[b]) {
        const c = s.bands[b];
        c.count++;
        c.sum += v;
        c.sumSq += v * v;
      }
    }
  }
  s.slices = 1;
  return s;
}

/** Sum of statistics (slices read so far, or the whole series). */
export function addStats(a: IntensityStats, b: IntensityStats): IntensityStats {
  return {
    pixels: a.pixels + b.pixels,
    outOfRange: a.outOfRange + b.outOfRange,
    body: a.body + b.body,
    bands: a.bands.map((x, i) => ({ count: x.count + (b.bands[i]?.count ?? 0), sum: x.sum + (b.bands[i]?.sum ?? 0), sumSq: x.sumSq + (b.bands[i]?.sumSq ?? 0) })),
    slices: a.slices + b.slices,
  };
}

export type DomainVerdict = { ok: true } | { ok: false; reason: string };

const pct = (v: number) => `${(Math.round(v * 1000) / 10).toString()}%`;

/** Header facts the pixel guard also needs: what the stored values mean. */
export interface ValueFacts {
  /** Rescale Type (0028,1054), when present. */
  rescaleType?: string | null;
  /** Units (0054,1001), when present (PET, parametric maps). */
  units?: string | null;
}

/** THE value facts of an instance's DICOM JSON (WADO-RS metadata): one reading for browser and server. */
export function valueFactsOf(inst: DicomJson | undefined): ValueFacts {
  const get = (tag: string) => (inst ? str(inst, tag)?.trim() || null : null);
  return { rescaleType: get('00281054'), units: get('00541001') };
}

/**
 * Whether the values are declared in the guard's units. CT leaves Rescale Type out (HU is implied);
 * a map that states other units (ml/100g/min, s, %) is outside.
 */
export function valuesDomain(guard: IntensityGuard, facts: ValueFacts): DomainVerdict {
  const rt = facts.rescaleType?.trim().toUpperCase();
  if (rt && !guard.rescaleTypes.map((x) => x.toUpperCase()).includes(rt)) {
    return { ok: false, reason: `${OUTSIDE_DOMAIN}: values are ${rt}, not ${guard.rescaleTypes.join('/')} (Rescale Type)` };
  }
  const u = facts.units?.trim().toUpperCase();
  if (u && !guard.rescaleTypes.map((x) => x.toUpperCase()).includes(u)) {
    return { ok: false, reason: `${OUTSIDE_DOMAIN}: values are in ${u}, not ${guard.rescaleTypes.join('/')} (Units)` };
  }
  return { ok: true };
}

/**
 * The decision on summed statistics: values in range, each band's fraction within its bounds (of the
 * image or of the body), and each band that declares one at least its minimum spread (a uniform
 * "brain" is a phantom). The first failing check is the reason, naming the figure and the bound.
 */
export function intensityDomain(guard: IntensityGuard, stats: IntensityStats): DomainVerdict {
  if (stats.pixels === 0) return { ok: false, reason: `${OUTSIDE_DOMAIN}: no pixel values` };
  const oor = stats.outOfRange / stats.pixels;
  if (oor > guard.maxOutOfRangeFraction) {
    return { ok: false, reason: `${OUTSIDE_DOMAIN}: ${pct(oor)} of pixel values outside ${guard.valueRange.min}..${guard.valueRange.max} ${guard.rescaleTypes[0]} (not ${guard.rescaleTypes[0]} values)` };
  }
  for (const [i, b] of guard.bands.entries()) {
    const c = stats.bands[i] ?? { count: 0, sum: 0, sumSq: 0 };
    const whole = b.of === 'body' ? stats.body : stats.pixels;
    const f = whole > 0 ? c.count / whole : 0;
    const what = `${b.name} (${b.minHu}..${b.maxHu} ${guard.rescaleTypes[0]}) is ${pct(f)} of the ${b.of === 'body' ? 'body' : 'image'}`;
    if (b.minFraction !== undefined && f < b.minFraction) return { ok: false, reason: `${OUTSIDE_DOMAIN}: ${what}, expected at least ${pct(b.minFraction)}${b.why ? ` (${b.why})` : ''}` };
    if (b.maxFraction !== undefined && f > b.maxFraction) return { ok: false, reason: `${OUTSIDE_DOMAIN}: ${what}, expected at most ${pct(b.maxFraction)}${b.why ? ` (${b.why})` : ''}` };
    if (b.minStdHu !== undefined && c.count > 0) {
      const mean = c.sum / c.count;
      const sd = Math.sqrt(Math.max(0, c.sumSq / c.count - mean * mean));
      if (sd < b.minStdHu) {
        return { ok: false, reason: `${OUTSIDE_DOMAIN}: ${b.name} values are uniform (SD ${Math.round(sd * 10) / 10} ${guard.rescaleTypes[0]} < ${b.minStdHu}): not anatomy (phantom?)` };
      }
    }
  }
  return { ok: true };
}

/** The whole guard: the declared units first, then the pixel statistics. No guard declared → inside. */
export function domainGuard(domain: Pick<ModelManifest['domain'], 'intensity'> | undefined, facts: ValueFacts, stats: IntensityStats | null): DomainVerdict {
  const g = domain?.intensity;
  if (!g) return { ok: true };
  const v = valuesDomain(g, facts);
  if (!v.ok) return v;
  return stats ? intensityDomain(g, stats) : { ok: true };
}
