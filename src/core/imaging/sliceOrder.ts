/**
 * Stack order by position along the slice normal. Instance numbers and file names are not
 * anatomical: scanners restart them, reconstructions interleave them, and a gantry-tilted head CT
 * (sheared IOP, irregular spacing) still has one well-defined normal, so the projection of
 * ImagePositionPatient onto it is the only reliable key.
 */
export type Vec3 = [number, number, number];

export interface SliceGeometry {
  /** ImagePositionPatient (per frame for enhanced multi-frame). */
  ipp?: number[];
  /** ImageOrientationPatient: row direction cosines then column direction cosines. */
  iop?: number[];
  instanceNumber?: number;
  /** 1-based frame number inside a multi-frame instance. */
  frame?: number;
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function dot(a: readonly number[], b: readonly number[]): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/** Unit normal of the image plane (row × column), or undefined for a missing/degenerate IOP. */
export function sliceNormal(iop: number[] | undefined): Vec3 | undefined {
  if (!iop || iop.length < 6 || iop.some((v) => !Number.isFinite(v))) return undefined;
  const n = cross([iop[0], iop[1], iop[2]], [iop[3], iop[4], iop[5]]);
  const len = Math.hypot(n[0], n[1], n[2]);
  if (len < 1e-6) return undefined;
  return [n[0] / len, n[1] / len, n[2] / len];
}

function validIpp(ipp: number[] | undefined): ipp is number[] {
  return !!ipp && ipp.length >= 3 && ipp.slice(0, 3).every((v) => Number.isFinite(v));
}

function sameOrientation(a: Vec3, b: Vec3): boolean {
  return Math.abs(dot(a, b)) > 0.999;
}

export interface OrderResult<T> {
  items: T[];
  /** How the order was decided, for the overlay and for tests. */
  method: 'position' | 'instance-number';
  /** Distance along the normal for each item in the returned order (position method only). */
  positions?: number[];
}

/**
 * Orders slices so the index walks along +normal (inferior -> superior for axial, right -> left for
 * sagittal, anterior -> posterior for coronal in LPS). Falls back to InstanceNumber (then frame)
 * only when some slice lacks a position or the orientations disagree (e.g. a localizer mix).
 */
export function orderSlices<T>(items: readonly T[], geometry: (t: T) => SliceGeometry): OrderResult<T> {
  const geoms = items.map(geometry);
  const normal = sliceNormal(geoms.find((g) => g.iop)?.iop);
  const byNumber = (a: SliceGeometry, b: SliceGeometry) =>
    (a.instanceNumber ?? Number.MAX_SAFE_INTEGER) - (b.instanceNumber ?? Number.MAX_SAFE_INTEGER) || (a.frame ?? 0) - (b.frame ?? 0);
  const positional =
    normal &&
    geoms.every((g) => validIpp(g.ipp) && (!g.iop || (sliceNormal(g.iop) && sameOrientation(sliceNormal(g.iop)!, normal))));
  const idx = items.map((_, i) => i);
  if (!positional || items.length < 2) {
    idx.sort((a, b) => byNumber(geoms[a], geoms[b]) || a - b);
    return { items: idx.map((i) => items[i]), method: 'instance-number' };
  }
  const d = geoms.map((g) => dot(g.ipp!, normal));
  idx.sort((a, b) => d[a] - d[b] || byNumber(geoms[a], geoms[b]) || a - b);
  return { items: idx.map((i) => items[i]), method: 'position', positions: idx.map((i) => d[i]) };
}

/** Gaps between consecutive slices (mm); irregular when they differ by more than `tolerance`. */
export function sliceSpacings(positions: number[]): number[] {
  return positions.slice(1).map((p, i) => p - positions[i]);
}

export function isIrregular(positions: number[], tolerance = 0.01): boolean {
  const s = sliceSpacings(positions);
  return s.some((v) => Math.abs(v - s[0]) > tolerance);
}
