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
