/**
 * Image <-> world <-> canvas math for drawing findings, as pure functions so it can be tested
 * without a browser. The viewer supplies the two impure pieces: the image plane (from
 * Cornerstone's `imagePlaneModule` metadata) and the viewport's world->canvas projection.
 *
 * Image coordinates follow the Finding model: (x = column, y = row), origin at the top-left
 * corner of the top-left pixel, so pixel (0,0) covers [0,1)x[0,1). DICOM ImagePositionPatient is
 * the *centre* of that pixel, hence the half-pixel shift below (the same one Cornerstone's
 * `utilities.imageToWorldCoords` applies).
 */
import type { Box, Heatmap } from './finding.js';

export type Vec2 = [number, number];
export type Vec3 = [number, number, number];

export interface ImagePlane {
  /** ImagePositionPatient: centre of the first transmitted pixel, in mm. */
  origin: Vec3;
  /** Direction of increasing column index (first triplet of ImageOrientationPatient). */
  rowCosines: Vec3;
  /** Direction of increasing row index (second triplet of ImageOrientationPatient). */
  columnCosines: Vec3;
  /** Physical distance between adjacent columns (PixelSpacing[1]), mm. */
  columnSpacing: number;
  /** Physical distance between adjacent rows (PixelSpacing[0]), mm. */
  rowSpacing: number;
  columns: number;
  rows: number;
}

export function imageToWorld(plane: ImagePlane, [x, y]: Vec2): Vec3 {
  const u = (x - 0.5) * (plane.columnSpacing || 1);
  const v = (y - 0.5) * (plane.rowSpacing || 1);
  const o = plane.origin, r = plane.rowCosines, c = plane.columnCosines;
  return [o[0] + r[0] * u + c[0] * v, o[1] + r[1] * u + c[1] * v, o[2] + r[2] * u + c[2] * v];
}

export function worldToImage(plane: ImagePlane, w: Vec3): Vec2 {
  const d: Vec3 = [w[0] - plane.origin[0], w[1] - plane.origin[1], w[2] - plane.origin[2]];
  const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  return [dot(d, plane.rowCosines) / (plane.columnSpacing || 1) + 0.5, dot(d, plane.columnCosines) / (plane.rowSpacing || 1) + 0.5];
}

export function boxCorners(b: Box): Vec2[] {
  return [
    [b.x, b.y],
    [b.x + b.width, b.y],
    [b.x + b.width, b.y + b.height],
    [b.x, b.y + b.height],
  ];
}

export function boxCentre(b: Box): Vec2 {
  return [b.x + b.width / 2, b.y + b.height / 2];
}

/** Maps image points through any projection (the viewer passes imageToWorld then worldToCanvas). */
export function mapPoints(points: Vec2[], toCanvas: (p: Vec2) => Vec2): Vec2[] {
  return points.map(toCanvas);
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function boundingRect(points: Vec2[]): Rect {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const x = Math.min(...xs), y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}

/**
 * The 2D affine (canvas `setTransform` order a,b,c,d,e,f) that takes a grid of gridW x gridH cells
 * covering the whole image onto the canvas. This is how a heatmap of any resolution is registered to
 * its image: cell (i,j) spans image pixels [i*columns/gridW, (i+1)*columns/gridW).
 */
export function gridToCanvasAffine(plane: Pick<ImagePlane, 'columns' | 'rows'>, gridW: number, gridH: number, imageToCanvas: (p: Vec2) => Vec2): [number, number, number, number, number, number] {
  const o = imageToCanvas([0, 0]);
  const px = imageToCanvas([plane.columns, 0]);
  const py = imageToCanvas([0, plane.rows]);
  return [(px[0] - o[0]) / gridW, (px[1] - o[1]) / gridW, (py[0] - o[0]) / gridH, (py[1] - o[1]) / gridH, o[0], o[1]];
}

export function applyAffine(m: readonly number[], [x, y]: Vec2): Vec2 {
  return [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]];
}

/** Which heatmap cell an image point falls in (for read-outs and tests). */
export function imageToHeatmapCell(h: Pick<Heatmap, 'width' | 'height'>, plane: Pick<ImagePlane, 'columns' | 'rows'>, [x, y]: Vec2): Vec2 {
  return [Math.min(h.width - 1, Math.floor((x * h.width) / plane.columns)), Math.min(h.height - 1, Math.floor((y * h.height) / plane.rows))];
}

/**
 * Bilinear resampling of a heatmap onto an outW x outH grid over the same extent (cell centres
 * aligned, edges clamped). Used to bring a coarse model output to image resolution.
 */
export function resampleHeatmap(values: ArrayLike<number>, w: number, h: number, outW: number, outH: number): Float32Array {
  const out = new Float32Array(outW * outH);
  for (let j = 0; j < outH; j++) {
    const sy = Math.min(h - 1, Math.max(0, ((j + 0.5) * h) / outH - 0.5));
    const y0 = Math.floor(sy), y1 = Math.min(h - 1, y0 + 1), fy = sy - y0;
    for (let i = 0; i < outW; i++) {
      const sx = Math.min(w - 1, Math.max(0, ((i + 0.5) * w) / outW - 0.5));
      const x0 = Math.floor(sx), x1 = Math.min(w - 1, x0 + 1), fx = sx - x0;
      const top = values[y0 * w + x0] * (1 - fx) + values[y0 * w + x1] * fx;
      const bottom = values[y1 * w + x0] * (1 - fx) + values[y1 * w + x1] * fx;
      out[j * outW + i] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** A 'jet'-like colour map (blue -> cyan -> yellow -> red), t in [0,1]. */
export function colourMap(t: number): [number, number, number] {
  // The last eighth of jet (dark red) is dropped so the maximum is a bright, unambiguous red.
  const c = Math.min(1, Math.max(0, t)) * 0.875;
  const r = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * c - 3)));
  const g = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * c - 2)));
  const b = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * c - 1)));
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/**
 * RGBA pixels for a heatmap at its own resolution. Alpha grows with the value so that the
 * background (≈ min) stays transparent and does not veil the image; `opacity` caps it.
 */
export function heatmapToRGBA(values: ArrayLike<number>, scale: { min: number; max: number }, opacity: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(values.length * 4);
  const span = scale.max - scale.min || 1;
  for (let k = 0; k < values.length; k++) {
    const t = (values[k] - scale.min) / span;
    const [r, g, b] = colourMap(t);
    out[k * 4] = r;
    out[k * 4 + 1] = g;
    out[k * 4 + 2] = b;
    out[k * 4 + 3] = Math.round(255 * Math.min(1, Math.max(0, opacity)) * Math.min(1, Math.max(0, t)));
  }
  return out;
}

/**
 * Cornerstone's orthographic camera shows 2*parallelScale world units vertically. To make a box
 * of boxW x boxH mm take up `fraction` of the viewport (in its tighter dimension), solve for it.
 */
export function parallelScaleToFit(boxW: number, boxH: number, canvasW: number, canvasH: number, fraction = 1 / 3): number {
  const aspect = canvasW / canvasH;
  return Math.max(boxH / fraction / 2, boxW / fraction / (2 * aspect), 1e-3);
}

/** Moves one edge/corner of a box by an image-space delta (drag handles); keeps width/height ≥ minSize. */
export type Handle = 'n' | 's' | 'e' | 'w' | 'ne' | 'nw' | 'se' | 'sw' | 'move';
export function dragBox(b: Box, handle: Handle, dx: number, dy: number, minSize = 1): Box {
  let x0 = b.x, y0 = b.y, x1 = b.x + b.width, y1 = b.y + b.height;
  if (handle === 'move') return { ...b, x: b.x + dx, y: b.y + dy };
  if (handle.includes('w')) x0 = Math.min(x0 + dx, x1 - minSize);
  if (handle.includes('e')) x1 = Math.max(x1 + dx, x0 + minSize);
  if (handle.includes('n')) y0 = Math.min(y0 + dy, y1 - minSize);
  if (handle.includes('s')) y1 = Math.max(y1 + dy, y0 + minSize);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Grows (factor > 1) or shrinks a box about its centre: the keyboard form of a box edit. */
export function scaleBox(b: Box, factor: number): Box {
  const [cx, cy] = boxCentre(b);
  const w = Math.max(1, b.width * factor), h = Math.max(1, b.height * factor);
  return { x: cx - w / 2, y: cy - h / 2, width: w, height: h };
}
