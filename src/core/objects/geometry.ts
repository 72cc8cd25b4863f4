/**
 * Image geometry of result objects, pure: where a frame of a multi-frame object (SEG, parametric map)
 * lies in the patient, which image of a series it belongs to, and patient coordinates (SCOORD3D) to
 * an image's pixel coordinates. Pixel coordinates follow DICOM's SCOORD convention, as the findings do:
 * (0,0) is the top-left corner of the top-left pixel, so that pixel's centre (the Image Position) is (0.5,0.5).
 */
import type { Dataset } from '../sr/dicom.js';
import { items } from '../sr/reader.js';
import { normalOf, patientToImage, planeOf, type ImagePlane } from './scoord3d.js';

export * from './scoord3d.js';

const nums = (v: unknown): number[] => (Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : String(v).split('\\')).map(Number);
const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
type Vec3 = [number, number, number];

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
