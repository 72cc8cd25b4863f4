/**
 * SCOORD3D (patient coordinates, mm) onto images, pure and free of any DICOM parsing, so the SR reader
 * can use it without importing the objects' parsers: an image's plane from its position, orientation
 * and spacing; a point's pixel coordinates on it and distance from it; which image a region lies on.
 * Pixel coordinates follow DICOM's SCOORD convention, as the findings do: (0,0) is the top-left corner
 * of the top-left pixel, so that pixel's centre (the Image Position) is (0.5,0.5).
 */
import type { ImagePlane, Vec2, Vec3 } from '../findings/geometry.js';

export type { ImagePlane, Vec2, Vec3 };


const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/** The plane of an image from Image Position/Orientation (Patient) and Pixel Spacing (row, column spacing). */
export function planeOf(ipp: readonly number[], iop: readonly number[], spacing: readonly number[], rows: number, columns: number): ImagePlane | null {
  if (ipp.length < 3 || iop.length < 6 || ipp.concat(iop).some((x) => !Number.isFinite(x))) return null;
  const [rowSpacing, columnSpacing] = spacing.length >= 2 && spacing.every((x) => x > 0) ? spacing : [1, 1];
  return { origin: [ipp[0], ipp[1], ipp[2]], rowCosines: [iop[0], iop[1], iop[2]], columnCosines: [iop[3], iop[4], iop[5]], rowSpacing, columnSpacing, rows, columns };
}

export function normalOf(p: Pick<ImagePlane, 'rowCosines' | 'columnCosines'>): Vec3 {
  return cross(p.rowCosines, p.columnCosines);
}

/**
 * A patient-space point (mm) on an image: its pixel coordinates and its distance from the image's
 * plane along the normal (mm). The in-plane part is exact for any point; a caller decides from the
 * distance whether the point belongs to this slice (within half the slice spacing).
 */
export function patientToImage(plane: ImagePlane, p: Vec3): { point: Vec2; distance: number } {
  const d: Vec3 = [p[0] - plane.origin[0], p[1] - plane.origin[1], p[2] - plane.origin[2]];
  return {
    point: [dot(d, plane.rowCosines) / plane.columnSpacing + 0.5, dot(d, plane.columnCosines) / plane.rowSpacing + 0.5],
    distance: dot(d, normalOf(plane)),
  };
}

/** SCOORD3D GraphicData (x1,y1,z1,x2,...) as points. */
export function points3(data: unknown): Vec3[] {
  const flat = (Array.isArray(data) ? data : ArrayBuffer.isView(data) ? Array.from(data as unknown as ArrayLike<number>) : []).map(Number);
  const out: Vec3[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) out.push([flat[i], flat[i + 1], flat[i + 2]]);
  return out;
}

export interface PlacedImage<T> {
  ref: T;
  plane: ImagePlane;
  /** Slice spacing (or thickness) in mm: a point within half of it from the plane is on the slice. */
  spacing: number;
}

/**
 * The image a set of patient-space points lies on (the one whose plane is nearest their mean, within
 * half its slice spacing), with the points in its pixel coordinates; null when none is close enough.
 */
export function mapToImage<T>(pts: readonly Vec3[], images: readonly PlacedImage<T>[]): { ref: T; points: Vec2[] } | null {
  if (!pts.length) return null;
  let best: { img: PlacedImage<T>; d: number } | null = null;
  for (const img of images) {
    const ds = pts.map((p) => patientToImage(img.plane, p).distance);
    const d = Math.abs(ds.reduce((a, b) => a + b, 0) / ds.length);
    if (d <= Math.max(img.spacing, 1e-3) / 2 + 1e-6 && (!best || d < best.d)) best = { img, d };
  }
  return best ? { ref: best.img.ref, points: pts.map((p) => patientToImage(best!.img.plane, p).point) } : null;
}

