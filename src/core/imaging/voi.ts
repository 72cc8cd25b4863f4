/**
 * Window/level (VOI) rules. Window center/width follow PS3.3 C.11.2.1.2.1 (LINEAR): values at or
 * below c - 0.5 - (w-1)/2 are black, at or above c - 0.5 + (w-1)/2 white, in modality units (after
 * Rescale). Cornerstone's voiRange uses the same convention, so a header window, a preset and the
 * overlay text all round-trip exactly.
 */
export interface Window {
  center: number;
  width: number;
}
export interface VoiRange {
  lower: number;
  upper: number;
}

export type PresetId = 'brain' | 'subdural' | 'bone' | 'lung' | 'abdomen';

/** CT presets in Hounsfield units (common reading-room values). */
export const WINDOW_PRESETS: Record<PresetId, Window & { label: string; key: string }> = {
  brain: { label: 'Brain', center: 40, width: 80, key: '1' },
  subdural: { label: 'Subdural', center: 75, width: 215, key: '2' },
  bone: { label: 'Bone', center: 600, width: 2800, key: '3' },
  lung: { label: 'Lung', center: -600, width: 1500, key: '4' },
  abdomen: { label: 'Abdomen', center: 40, width: 400, key: '5' },
};

export function windowToRange(w: Window): VoiRange {
  const width = Math.max(1, w.width);
  return { lower: w.center - 0.5 - (width - 1) / 2, upper: w.center - 0.5 + (width - 1) / 2 };
}

export function rangeToWindow(r: VoiRange): Window {
  return { center: (r.lower + r.upper) / 2 + 0.5, width: Math.max(1, r.upper - r.lower + 1) };
}

export interface VoiInputs {
  modality?: string;
  /** Window Center / Window Width (0028,1050/1051): may hold several; the first is the default. */
  windowCenter?: number[];
  windowWidth?: number[];
  /** VOI LUT Sequence (0028,3010) LUT Descriptor: [entries (0 = 65536), first mapped value, bits]. */
  voiLutDescriptor?: number[];
  rescaleSlope?: number;
  rescaleIntercept?: number;
  /** Stored pixel range of the decoded image, when known. */
  minPixel?: number;
  maxPixel?: number;
}

export type VoiSource = 'window' | 'voi-lut' | 'modality-default' | 'pixel-range' | 'none';

/**
 * Initial VOI: the image's own window if it has one (what the modality or the technologist chose),
 * else the range its VOI LUT covers, else a CT soft-tissue default, else the pixel range.
 */
export function initialVoi(m: VoiInputs): { range: VoiRange | null; source: VoiSource } {
  const c = m.windowCenter?.[0];
  const w = m.windowWidth?.[0];
  if (c !== undefined && w !== undefined && Number.isFinite(c) && Number.isFinite(w) && w > 0) {
    return { range: windowToRange({ center: c, width: w }), source: 'window' };
  }
  const d = m.voiLutDescriptor;
  if (d && d.length >= 2) {
    const entries = d[0] === 0 ? 65536 : d[0];
    // The LUT input is the modality-rescaled value; its covered input range is the useful window.
    const first = d[1];
    if (entries > 1 && Number.isFinite(first)) return { range: { lower: first, upper: first + entries - 1 }, source: 'voi-lut' };
  }
  if (m.modality === 'CT') return { range: windowToRange(WINDOW_PRESETS.abdomen), source: 'modality-default' };
  if (m.minPixel !== undefined && m.maxPixel !== undefined && m.maxPixel > m.minPixel) {
    const slope = m.rescaleSlope ?? 1;
    const intercept = m.rescaleIntercept ?? 0;
    const a = m.minPixel * slope + intercept;
    const b = m.maxPixel * slope + intercept;
    return { range: { lower: Math.min(a, b), upper: Math.max(a, b) }, source: 'pixel-range' };
  }
  return { range: null, source: 'none' };
}

/** W/L change from a mouse drag: right widens, down raises the level (as in most PACS). */
export function dragWindow(w: Window, dx: number, dy: number, sensitivity = 1): Window {
  return { center: w.center + dy * sensitivity, width: Math.max(1, w.width + dx * sensitivity) };
}

export function formatWindow(r: VoiRange): string {
  const w = rangeToWindow(r);
  return `W ${Math.round(w.width)} L ${Math.round(w.center)}`;
}

/**
 * VOI LUT Function (0028,1056), PS3.3 C.11.2.1.2 and C.11.2.1.3. Anything else (absent, misspelt)
 * is LINEAR, the standard's default.
 */
export type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

export function parseVoiFunction(s: string | undefined): VoiFunction {
  const v = s?.trim().toUpperCase();
  return v === 'LINEAR_EXACT' || v === 'SIGMOID' ? v : 'LINEAR';
}

/**
 * The output of the VOI LUT function for modality value x, window centre c and width w, in
 * [yMin, yMax] (the display's range, 0..255 for an 8-bit canvas). Exactly the standard's formulas:
 * - LINEAR (C.11.2.1.2.1): x ≤ c − 0.5 − (w−1)/2 → yMin; x > c − 0.5 + (w−1)/2 → yMax;
 *   else ((x − (c − 0.5)) / (w−1) + 0.5) · (yMax − yMin) + yMin. Needs w ≥ 1.
 * - LINEAR_EXACT (C.11.2.1.3.2): x ≤ c − w/2 → yMin; x > c + w/2 → yMax;
 *   else ((x − c) / w + 0.5) · (yMax − yMin) + yMin. Needs w > 0.
 * - SIGMOID (C.11.2.1.3.1): (yMax − yMin) / (1 + exp(−4 (x − c) / w)) + yMin. Needs w > 0.
 */
export function voiOutput(x: number, w: Window, fn: VoiFunction, yMin = 0, yMax = 255): number {
  const c = w.center;
  const span = yMax - yMin;
  if (fn === 'SIGMOID') return span / (1 + Math.exp((-4 * (x - c)) / Math.max(w.width, Number.MIN_VALUE))) + yMin;
  if (fn === 'LINEAR_EXACT') {
    const width = Math.max(w.width, Number.MIN_VALUE);
    if (x <= c - width / 2) return yMin;
    if (x > c + width / 2) return yMax;
    return ((x - c) / width + 0.5) * span + yMin;
  }
  const width = Math.max(1, w.width);
  if (x <= c - 0.5 - (width - 1) / 2) return yMin;
  if (x > c - 0.5 + (width - 1) / 2) return yMax;
  // w = 1: the two thresholds meet, every value is below or above them.
  return ((x - (c - 0.5)) / (width - 1) + 0.5) * span + yMin;
}

/**
 * A VOI LUT Sequence item (C.11.2.1.1): LUT Descriptor (0028,3002) [entries (0 means 65536), first
 * value mapped, bits per entry] and LUT Data (0028,3006).
 */
export interface VoiLut {
  firstMapped: number;
  bits: number;
  data: ArrayLike<number>;
}

export function parseVoiLut(descriptor: readonly number[] | undefined, data: ArrayLike<number> | undefined): VoiLut | null {
  if (!descriptor || descriptor.length < 3 || !data || !data.length) return null;
  const entries = descriptor[0] === 0 ? 65536 : descriptor[0];
  const bits = descriptor[2];
  if (!(bits >= 1 && bits <= 16) || !Number.isFinite(descriptor[1])) return null;
  // A LUT Data shorter than announced is used as far as it goes; longer is cut to the descriptor.
  return { firstMapped: descriptor[1], bits, data: data.length > entries ? Array.prototype.slice.call(data, 0, entries) : data };
}

/**
 * Output of a VOI LUT for modality value x, scaled to [0, yMax]: values below the first mapped
 * value take the first entry, above the last mapped value the last entry; the entry's range is
 * 0..2^bits − 1 (C.11.2.1.1), so full scale maps to yMax.
 */
export function voiLutOutput(x: number, lut: VoiLut, yMax = 255): number {
  const n = lut.data.length;
  const i = Math.min(n - 1, Math.max(0, Math.floor(x) - lut.firstMapped));
  return (lut.data[i] / (2 ** lut.bits - 1)) * yMax;
}

/** How one image is to be shown: a window through a VOI LUT function, or its VOI LUT. */
export type DisplayVoi = { kind: 'function'; window: Window; fn: VoiFunction } | { kind: 'lut'; lut: VoiLut };

/**
 * The 8-bit display table for integer modality values minInput..maxInput, in the shape Cornerstone's
 * CPU renderer takes as a VOI LUT (`{ firstValueMapped, lut }`): entry i is the rounded output for
 * value minInput + i. That renderer derives a bit shift from the table's largest entry, so one extra
 * entry (for maxInput + 1, a value the image does not hold) is 255: the shift is then 0 and every
 * entry is used as it is.
 */
export function displayLut(minInput: number, maxInput: number, voi: DisplayVoi): { firstValueMapped: number; lut: number[] } {
  const lo = Math.floor(minInput);
  const hi = Math.max(lo, Math.ceil(maxInput));
  const lut = new Array<number>(hi - lo + 2);
  for (let x = lo; x <= hi; x++) {
    const y = voi.kind === 'lut' ? voiLutOutput(x, voi.lut) : voiOutput(x, voi.window, voi.fn);
    lut[x - lo] = Math.round(y);
  }
  lut[hi - lo + 1] = 255;
  return { firstValueMapped: lo, lut };
}

/**
 * Window presets per modality, on the same keys 1–5. CT has absolute presets in HU. MR and
 * projection radiography (CR, DX, MG, RF, XA, IO, PX) have no absolute scale: their presets start
 * from the image's own VOI (header window or VOI LUT, else the pixel range) and the stored range.
 * Other modalities get the generic set.
 */
export interface ModalityPreset {
  label: string;
  key: string;
  /** The preset's window for this image. */
  range(image: { initial: VoiRange | null; min: number; max: number }): VoiRange | null;
}

const XR_MODALITIES = new Set(['CR', 'DX', 'MG', 'RF', 'XA', 'IO', 'PX', 'DR']);

const relative = (labels: [string, string, string]): ModalityPreset[] => [
  { label: labels[0], key: '1', range: (im) => im.initial ?? (im.max > im.min ? { lower: im.min, upper: im.max } : null) },
  { label: labels[1], key: '2', range: (im) => (im.max > im.min ? { lower: im.min, upper: im.max } : null) },
  {
    label: labels[2],
    key: '3',
    // Half the width of the image's own window, about its centre.
    range: (im) => {
      const base = im.initial ?? (im.max > im.min ? { lower: im.min, upper: im.max } : null);
      if (!base) return null;
      const w = rangeToWindow(base);
      return windowToRange({ center: w.center, width: Math.max(1, w.width / 2) });
    },
  },
];

export const MR_PRESETS = relative(['Image default', 'Full range', 'High contrast']);
export const XR_PRESETS = relative(['Image default', 'Full range', 'High contrast']);
export const CT_PRESETS: ModalityPreset[] = (Object.keys(WINDOW_PRESETS) as PresetId[]).map((id) => ({
  label: WINDOW_PRESETS[id].label,
  key: WINDOW_PRESETS[id].key,
  range: () => windowToRange(WINDOW_PRESETS[id]),
}));

export function presetsFor(modality: string | undefined): ModalityPreset[] {
  const m = (modality ?? '').toUpperCase();
  if (m === 'CT') return CT_PRESETS;
  if (m === 'MR') return MR_PRESETS;
  if (XR_MODALITIES.has(m)) return XR_PRESETS;
  return MR_PRESETS;
}
