/**
 * Image geometry of result objects, pure: where a frame of a multi-frame object (SEG, parametric map)
 * lies in the patient, which image of a series it belongs to, and patient coordinates (SCOORD3D) to
 * an image's pixel coordinates. Pixel coordinates follow DICOM's SCOORD convention, as the findings do:
 * (0,0) is the top-left corner of the top-left pixel, so that pixel's centre (the Image Position) is (0.5,0.5).
 */
import type { Dataset } from '../sr/dicom.js';
import { items } from '../sr/reader.js';
import type { ImagePlane, Vec2, Vec3 } from '../findings/geometry.js';

export type { ImagePlane, Vec2, Vec3 };

const nums = (v: unknown): number[] => (Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : String(v).split('\\')).map(Number);

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

/** Plane of frame `i` (0-based) of an enhanced multi-frame object (per-frame, else shared functional groups). */
export function framePlane(ds: Dataset, i: number): ImagePlane | null {
  const per = items(ds.PerFrameFunctionalGroupsSequence)[i] ?? {};
  const shared = items(ds.SharedFunctionalGroupsSequence)[0] ?? {};
  const pick = (key: string) => items(per[key])[0] ?? items(shared[key])[0];
  const ipp = nums(pick('PlanePositionSequence')?.ImagePositionPatient);
  const iop = nums(pick('PlaneOrientationSequence')?.ImageOrientationPatient);
  const sp = nums(pick('PixelMeasuresSequence')?.PixelSpacing);
  return planeOf(ipp, iop, sp, Number(ds.Rows), Number(ds.Columns));
}

/** Slice spacing of an enhanced multi-frame object (Spacing Between Slices, else Slice Thickness), mm. */
export function frameSpacing(ds: Dataset, i: number): number {
  const per = items(ds.PerFrameFunctionalGroupsSequence)[i] ?? {};
  const shared = items(ds.SharedFunctionalGroupsSequence)[0] ?? {};
  const pm = items(per.PixelMeasuresSequence)[0] ?? items(shared.PixelMeasuresSequence)[0] ?? {};
  const v = Number(pm.SpacingBetweenSlices ?? pm.SliceThickness);
  return Number.isFinite(v) && v > 0 ? v : 1;
}

/**
 * How a frame's pixel grid lands on an image (both in pixel coordinates, corner convention): the
 * affine [a, b, c, d, e, f] with image = (a·i + c·j + e, b·i + d·j + f) for frame grid point (i, j),
 * and the distance of the frame's plane from the image's (mm). Null when the planes are not parallel
 * (an oblique reformat is not drawn: it would need resampling).
 */
export function frameOnImage(frame: ImagePlane, image: ImagePlane): { affine: [number, number, number, number, number, number]; distance: number } | null {
  const n1 = normalOf(frame), n2 = normalOf(image);
  if (Math.abs(Math.abs(dot(n1, n2)) - 1) > 1e-3) return null;
  // Frame grid corner (0,0) is half a pixel before the frame's Image Position.
  const at = (i: number, j: number): Vec3 => {
    const u = (i - 0.5) * frame.columnSpacing, v = (j - 0.5) * frame.rowSpacing;
    return [frame.origin[0] + frame.rowCosines[0] * u + frame.columnCosines[0] * v, frame.origin[1] + frame.rowCosines[1] * u + frame.columnCosines[1] * v, frame.origin[2] + frame.rowCosines[2] * u + frame.columnCosines[2] * v];
  };
  const o = patientToImage(image, at(0, 0));
  const x = patientToImage(image, at(1, 0)).point;
  const y = patientToImage(image, at(0, 1)).point;
  return { affine: [x[0] - o.point[0], x[1] - o.point[1], y[0] - o.point[0], y[1] - o.point[1], o.point[0], o.point[1]], distance: o.distance };
}
