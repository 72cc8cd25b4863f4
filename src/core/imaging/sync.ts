/**
 * Which slice of another stack shows the same anatomy (prior beside current, synchronised scrolling).
 * Same Frame of Reference: the patient coordinates are shared, so ImagePositionPatient projected on the
 * target's slice normal is compared directly (exact across series and studies of one scanner session,
 * and across studies whose equipment kept the frame). Different frames (most priors): Slice Location,
 * which scanners give relative to the table/landmark, is the only common axis. Neither: no match, the
 * other viewport stays where it is rather than jump somewhere that looks anatomical but is not.
 */
import { dot, sliceNormal } from './sliceOrder';

export interface SliceRef {
  frameOfReferenceUID?: string;
  /** ImagePositionPatient, mm. */
  ipp?: number[];
  /** ImageOrientationPatient (row cosines, then column cosines). */
  iop?: number[];
  /** Slice Location (0020,1041), mm. */
  sliceLocation?: number;
}

export interface SliceMatch {
  /** Index into the target stack; -1 when there is nothing to match on. */
  index: number;
  method: 'position' | 'slice-location' | 'none';
  /** Distance from the source slice along the matching axis, mm (how far the best target slice is). */
  distance: number;
}

const finite3 = (v: number[] | undefined): v is number[] => !!v && v.length >= 3 && v.slice(0, 3).every(Number.isFinite);

/** Position of a slice along a normal (mm). */
export function positionAlong(ref: SliceRef, normal: readonly number[]): number | undefined {
  return finite3(ref.ipp) ? dot(ref.ipp, normal) : undefined;
}

/** The nearest target slice to `source`, by position in a shared Frame of Reference, else by Slice Location. */
export function matchSlice(source: SliceRef, targets: readonly SliceRef[]): SliceMatch {
  const none: SliceMatch = { index: -1, method: 'none', distance: Infinity };
  if (!targets.length) return none;
  const sameFrame = !!source.frameOfReferenceUID && targets.every((t) => t.frameOfReferenceUID === source.frameOfReferenceUID);
  const normal = sliceNormal(targets.find((t) => t.iop)?.iop ?? source.iop);
  if (sameFrame && normal && finite3(source.ipp) && targets.every((t) => finite3(t.ipp))) {
    return nearest(dot(source.ipp, normal), targets.map((t) => dot(t.ipp!, normal)), 'position');
  }
  if (Number.isFinite(source.sliceLocation) && targets.every((t) => Number.isFinite(t.sliceLocation))) {
    return nearest(source.sliceLocation!, targets.map((t) => t.sliceLocation!), 'slice-location');
  }
  return none;
}

function nearest(value: number, keys: number[], method: SliceMatch['method']): SliceMatch {
  let index = 0;
  for (let i = 1; i < keys.length; i++) if (Math.abs(keys[i] - value) < Math.abs(keys[index] - value)) index = i;
  return { index, method, distance: Math.abs(keys[index] - value) };
}
