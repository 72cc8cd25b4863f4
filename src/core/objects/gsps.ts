/**
 * Presentation states (GSPS and kin, PS3.3 A.33) read for display, pure: graphic annotations
 * (POLYLINE, INTERPOLATED, CIRCLE, ELLIPSE, POINT, MULTIPOINT) and text annotations per referenced
 * image in pixel coordinates (PIXEL units as given; DISPLAY units, 0..1 of the displayed area, taken
 * over the whole image), the Softcopy VOI the creator set, and the display shutter.
 */
import type { Dataset } from '../sr/dicom.js';
import { items } from '../sr/reader.js';
import { str } from './summary.js';
import type { Vec2 } from './geometry.js';
import { dicomLabToRgb } from './seg.js';

const nums = (v: unknown): number[] => (Array.isArray(v) ? v : ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v === undefined || v === null || v === '' ? [] : String(v).split('\\')).map(Number);

/** Which images an item applies to: those it names, or (none named) every image the PR references. */
export interface ImageScope {
  sops: { sopInstanceUID: string; frames: number[] }[] | null;
}

export interface PrGraphic {
  scope: ImageScope;
  layer?: string;
  type: string;
  points: Vec2[];
  filled: boolean;
  units: 'PIXEL' | 'DISPLAY';
}

export interface PrText {
  scope: ImageScope;
  layer?: string;
  text: string;
  units: 'PIXEL' | 'DISPLAY';
  box?: [Vec2, Vec2];
  anchor?: Vec2;
}

export interface PrVoi {
  scope: ImageScope;
  center: number;
  width: number;
  fn?: string;
}

export type Shutter =
  | { shape: 'RECTANGULAR'; left: number; right: number; top: number; bottom: number }
  | { shape: 'CIRCULAR'; centre: Vec2; radius: number }
  | { shape: 'POLYGONAL'; vertices: Vec2[] };

export interface ParsedPr {
  images: { seriesInstanceUID: string; sopInstanceUID: string; frames: number[] }[];
  graphics: PrGraphic[];
  texts: PrText[];
  voi: PrVoi[];
  shutters: Shutter[];
  /** sRGB per layer name, from the layer's recommended CIELab or grayscale value. */
  layerColours: Record<string, string>;
  label?: string;
}

function scopeOf(item: Dataset): ImageScope {
  const refs = items(item.ReferencedImageSequence);
  if (!refs.length) return { sops: null };
  return { sops: refs.map((r) => ({ sopInstanceUID: str(r.ReferencedSOPInstanceUID) ?? '', frames: nums(r.ReferencedFrameNumber).filter((n) => Number.isInteger(n) && n >= 1) })) };
}

/** Whether an item applies to this image (frame 1-based; an item without frames applies to all). */
export function inScope(scope: ImageScope, sopInstanceUID: string, frame = 1): boolean {
  if (!scope.sops) return true;
  return scope.sops.some((s) => s.sopInstanceUID === sopInstanceUID && (!s.frames.length || s.frames.includes(frame)));
}

const units = (v: unknown): 'PIXEL' | 'DISPLAY' => (str(v)?.toUpperCase() === 'DISPLAY' ? 'DISPLAY' : 'PIXEL');

function pairs(v: unknown): Vec2[] {
  const f = nums(v);
  const out: Vec2[] = [];
  for (let i = 0; i + 1 < f.length; i += 2) out.push([f[i], f[i + 1]]);
  return out;
}

export function parsePr(ds: Dataset): ParsedPr {
  const images = items(ds.ReferencedSeriesSequence).flatMap((s) =>
    items(s.ReferencedImageSequence).map((r) => ({ seriesInstanceUID: str(s.SeriesInstanceUID) ?? '', sopInstanceUID: str(r.ReferencedSOPInstanceUID) ?? '', frames: nums(r.ReferencedFrameNumber).filter((n) => Number.isInteger(n) && n >= 1) })),
  );
  const graphics: PrGraphic[] = [];
  const texts: PrText[] = [];
  for (const ga of items(ds.GraphicAnnotationSequence)) {
    const scope = scopeOf(ga);
    const layer = str(ga.GraphicLayer);
    for (const g of items(ga.GraphicObjectSequence)) {
      graphics.push({ scope, layer, type: str(g.GraphicType)?.toUpperCase() ?? 'POLYLINE', points: pairs(g.GraphicData), filled: str(g.GraphicFilled) === 'Y', units: units(g.GraphicAnnotationUnits) });
    }
    for (const t of items(ga.TextObjectSequence)) {
      const text = str(t.UnformattedTextValue);
      if (!text) continue;
      const tl = nums(t.BoundingBoxTopLeftHandCorner), br = nums(t.BoundingBoxBottomRightHandCorner), an = nums(t.AnchorPoint);
      texts.push({
        scope,
        layer,
        text,
        units: units(t.BoundingBoxAnnotationUnits ?? t.AnchorPointAnnotationUnits),
        ...(tl.length === 2 && br.length === 2 ? { box: [[tl[0], tl[1]], [br[0], br[1]]] as [Vec2, Vec2] } : {}),
        ...(an.length === 2 ? { anchor: [an[0], an[1]] as Vec2 } : {}),
      });
    }
  }
  const voi: PrVoi[] = items(ds.SoftcopyVOILUTSequence).flatMap((v) => {
    const c = nums(v.WindowCenter)[0], w = nums(v.WindowWidth)[0];
    return Number.isFinite(c) && Number.isFinite(w) && w > 0 ? [{ scope: scopeOf(v), center: c, width: w, fn: str(v.VOILUTFunction) }] : [];
  });
  // Shutter edges and vertices are 1-based columns/rows (row first in the circular centre and the
  // polygon's vertices); in corner coordinates a 1-based column c spans [c−1, c].
  const shapes = (Array.isArray(ds.ShutterShape) ? ds.ShutterShape : str(ds.ShutterShape)?.split('\\') ?? []).map((s) => String(s).toUpperCase());
  const shutters: Shutter[] = [];
  if (shapes.includes('RECTANGULAR')) {
    shutters.push({ shape: 'RECTANGULAR', left: Number(ds.ShutterLeftVerticalEdge) - 1, right: Number(ds.ShutterRightVerticalEdge), top: Number(ds.ShutterUpperHorizontalEdge) - 1, bottom: Number(ds.ShutterLowerHorizontalEdge) });
  }
  if (shapes.includes('CIRCULAR')) {
    const c = nums(ds.CenterOfCircularShutter);
    shutters.push({ shape: 'CIRCULAR', centre: [c[1] - 0.5, c[0] - 0.5], radius: Number(ds.RadiusOfCircularShutter) });
  }
  if (shapes.includes('POLYGONAL')) {
    shutters.push({ shape: 'POLYGONAL', vertices: pairs(ds.VerticesOfThePolygonalShutter).map(([r, c]) => [c - 0.5, r - 0.5] as Vec2) });
  }
  const layerColours: Record<string, string> = {};
  for (const l of items(ds.GraphicLayerSequence)) {
    const name = str(l.GraphicLayer);
    if (!name) continue;
    const lab = nums(l.GraphicLayerRecommendedDisplayCIELabValue);
    const grey = nums(l.GraphicLayerRecommendedDisplayGrayscaleValue)[0];
    if (lab.length === 3 && lab.every(Number.isFinite)) layerColours[name] = `rgb(${dicomLabToRgb(lab).join(',')})`;
    else if (Number.isFinite(grey)) {
      const g = Math.round((grey / 65535) * 255);
      layerColours[name] = `rgb(${g},${g},${g})`;
    }
  }
  return { images, graphics, texts, voi, shutters, layerColours, label: str(ds.ContentLabel) };
}

/** A point in an annotation's units → image pixel coordinates (corner convention). */
export function toPixel(p: Vec2, u: 'PIXEL' | 'DISPLAY', columns: number, rows: number): Vec2 {
  return u === 'DISPLAY' ? [p[0] * columns, p[1] * rows] : p;
}

/** The outline to draw for a graphic, in pixel coordinates: circles and ellipses as polygons. */
export function outline(g: PrGraphic, columns: number, rows: number, steps = 64): { points: Vec2[]; closed: boolean; markers: boolean } {
  const pts = g.points.map((p) => toPixel(p, g.units, columns, rows));
  const ring = (cx: number, cy: number, ax: Vec2, bx: Vec2): Vec2[] =>
    Array.from({ length: steps }, (_, k) => {
      const t = (2 * Math.PI * k) / steps;
      return [cx + ax[0] * Math.cos(t) + bx[0] * Math.sin(t), cy + ax[1] * Math.cos(t) + bx[1] * Math.sin(t)] as Vec2;
    });
  switch (g.type) {
    case 'CIRCLE': {
      if (pts.length < 2) break;
      const [[cx, cy], [px, py]] = pts;
      const r = Math.hypot(px - cx, py - cy);
      return { points: ring(cx, cy, [r, 0], [0, r]), closed: true, markers: false };
    }
    case 'ELLIPSE': {
      if (pts.length < 4) break;
      const [m1, m2, n1, n2] = pts;
      const cx = (m1[0] + m2[0]) / 2, cy = (m1[1] + m2[1]) / 2;
      return { points: ring(cx, cy, [(m2[0] - m1[0]) / 2, (m2[1] - m1[1]) / 2], [(n2[0] - n1[0]) / 2, (n2[1] - n1[1]) / 2]), closed: true, markers: false };
    }
    case 'POINT':
    case 'MULTIPOINT':
      return { points: pts, closed: false, markers: true };
  }
  const closed = pts.length > 2 && pts[0][0] === pts[pts.length - 1][0] && pts[0][1] === pts[pts.length - 1][1];
  return { points: pts, closed, markers: false };
}
