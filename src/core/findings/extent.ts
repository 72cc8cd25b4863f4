/**
 * The slice range (3D extent) of a finding within one series, as indices into that series' display
 * order. Stored as SOP UIDs (`Finding.extent`) because stack indices are the viewer's business.
 */
import type { Finding } from './finding.js';

export interface SliceRange {
  first: number;
  last: number;
}

/** Current range of `f` in a series whose images (display order) are `sops`; null if none of it is there. */
export function sliceRangeOf(f: Pick<Finding, 'regions' | 'extent'>, sops: readonly string[]): SliceRange | null {
  if (f.extent) {
    const a = sops.indexOf(f.extent.firstSopInstanceUID), b = sops.indexOf(f.extent.lastSopInstanceUID);
    if (a >= 0 && b >= 0) return { first: Math.min(a, b), last: Math.max(a, b) };
  }
  const idx = f.regions.map((r) => sops.indexOf(r.image.sopInstanceUID)).filter((i) => i >= 0);
  return idx.length ? { first: Math.min(...idx), last: Math.max(...idx) } : null;
}

/**
 * Moves one end of the range to `current`; the other end follows if it would be crossed, so the
 * range is never empty and one keystroke always gives the reader what they pointed at.
 */
export function setRangeEnd(range: SliceRange | null, current: number, end: 'first' | 'last'): SliceRange {
  const r = range ?? { first: current, last: current };
  return end === 'first' ? { first: current, last: Math.max(current, r.last) } : { first: Math.min(current, r.first), last: current };
}

/** The extent change for a verdict request (`changes.extent`). */
export function extentOf(range: SliceRange, sops: readonly string[]): { firstSopInstanceUID: string; lastSopInstanceUID: string } {
  return { firstSopInstanceUID: sops[range.first], lastSopInstanceUID: sops[range.last] };
}
