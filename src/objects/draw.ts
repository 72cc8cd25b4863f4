/**
 * Drawing result objects on the image the viewport shows, imperatively on one canvas laid over it
 * (no React work on the scroll step): SEG frames in their segments' colours, parametric maps in a
 * colour map above the threshold, presentation-state graphics, text and shutter. Every position goes
 * image pixel → canvas through the viewport's own projection, so the drawing follows zoom, pan and flip.
 */
import type { ViewerContext } from '../viewer/extensions';
import { projection, stackViewport } from '../findings/viewport';
import { colourMap, gridToCanvasAffine, type Vec2 } from '../core/findings/geometry';
import { frameOnImage, type ImagePlane } from '../core/objects/geometry';
import { frameRGBA, frameValues, type ParsedSeg } from '../core/objects/seg';
import { pmapRGBA, type ParsedPmap } from '../core/objects/pmap';
import { inScope, outline, toPixel, type ParsedPr } from '../core/objects/gsps';
import type { ListedObject } from '../core/objects/policy';
import { DEFAULT_SEG_OPACITY, type ObjectsState } from './state';

type Affine = [number, number, number, number, number, number];
const compose = (m: Affine, a: Affine): Affine => [m[0] * a[0] + m[2] * a[1], m[1] * a[0] + m[3] * a[1], m[0] * a[2] + m[2] * a[3], m[1] * a[2] + m[3] * a[3], m[0] * a[4] + m[2] * a[5] + m[4], m[1] * a[4] + m[3] * a[5] + m[5]];
const apply = (m: Affine, p: Vec2): Vec2 => [m[0] * p[0] + m[2] * p[1] + m[4], m[1] * p[0] + m[3] * p[1] + m[5]];

type ImageRef = ViewerContext['imageRefs'][number];

/**
 * Where a frame of a SEG or parametric map lands on this image: the frame → image affine, or null.
 * A frame that names its source image is drawn on that image only; a frame that names none (a SEG
 * that references only the Frame of Reference) is placed by geometry, on the image whose plane is
 * parallel and within half a slice of it.
 */
export function frameToImage(frame: { sourceSopInstanceUID?: string; sourceFrame?: number; plane: ImagePlane | null; spacing: number }, grid: { rows: number; columns: number }, ref: ImageRef, image: ImagePlane): Affine | null {
  if (frame.sourceSopInstanceUID) {
    if (frame.sourceSopInstanceUID !== ref.sopInstanceUID || (frame.sourceFrame ?? 1) !== (ref.frameNumber ?? 1)) return null;
    return [image.columns / grid.columns, 0, 0, image.rows / grid.rows, 0, 0];
  }
  if (!frame.plane) return null;
  const f = frameOnImage(frame.plane, image);
  return f && Math.abs(f.distance) <= frame.spacing / 2 + 1e-3 ? f.affine : null;
}

const bitmapCache = new Map<string, HTMLCanvasElement>();
function cached(key: string, w: number, h: number, make: () => Uint8ClampedArray): HTMLCanvasElement {
  let c = bitmapCache.get(key);
  if (!c) {
    if (bitmapCache.size > 400) bitmapCache.delete(bitmapCache.keys().next().value as string);
    c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    c.getContext('2d')!.putImageData(new ImageData(make() as Uint8ClampedArray<ArrayBuffer>, w, h), 0, 0);
    bitmapCache.set(key, c);
  }
  return c;
}

export interface DrawReport {
  segFrames: number;
  pmapFrames: number;
  prGraphics: number;
  texts: { text: string; x: number; y: number }[];
  shutter: boolean;
  /** Parametric maps drawn on this image (for the colour bar). */
  pmaps: string[];
}

export function isShown(o: ListedObject, s: ObjectsState, aiVisible: boolean): boolean {
  return !s.objectHidden[o.sopInstanceUID] && (o.creator.creator !== 'ai' || aiVisible);
}

/** Draws everything shown on the current image; returns what it drew (tests, colour bar). */
export function drawObjects(canvas: HTMLCanvasElement, ctx: ViewerContext, s: ObjectsState, aiVisible: boolean): DrawReport {
  const report: DrawReport = { segFrames: 0, pmapFrames: 0, prGraphics: 0, texts: [], shutter: false, pmaps: [] };
  const g = canvas.getContext('2d');
  if (!g) return report;
  const dpr = window.devicePixelRatio || 1;
  g.setTransform(1, 0, 0, 1, 0, 0);
  g.clearRect(0, 0, canvas.width, canvas.height);
  const vp = stackViewport(ctx);
  if (!vp || !s.list.length) return report;
  const proj = projection(vp);
  const ref = ctx.imageRefs[vp.getCurrentImageIdIndex()];
  if (!proj || !ref) return report;
  const plane = proj.plane;
  const toCanvas = gridToCanvasAffine(plane, plane.columns, plane.rows, proj.toCanvas) as Affine;
  const scaled = (m: Affine): Affine => [m[0] * dpr, m[1] * dpr, m[2] * dpr, m[3] * dpr, m[4] * dpr, m[5] * dpr];

  for (const o of s.list) {
    if (!isShown(o, s, aiVisible)) continue;
    const l = s.loaded[o.sopInstanceUID];
    if (!l) continue;
    if (l.kind === 'seg') report.segFrames += drawSeg(g, o.sopInstanceUID, l.seg, s, ref, plane, toCanvas, scaled);
    else if (l.kind === 'pmap') {
      const n = drawPmap(g, o.sopInstanceUID, l.pmap, s.threshold[o.sopInstanceUID] ?? l.pmap.min, ref, plane, toCanvas, scaled);
      report.pmapFrames += n;
      if (n) report.pmaps.push(o.sopInstanceUID);
    } else if (l.kind === 'pr') drawPr(g, l.pr, s.appliedPr === o.sopInstanceUID, ref, plane, toCanvas, dpr, canvas, report);
  }
  g.setTransform(1, 0, 0, 1, 0, 0);
  return report;
}

function drawSeg(g: CanvasRenderingContext2D, sop: string, seg: ParsedSeg, s: ObjectsState, ref: ImageRef, plane: ImagePlane, toCanvas: Affine, scaled: (m: Affine) => Affine): number {
  let n = 0;
  for (const f of seg.frames) {
    const key = `${sop}:${f.segment}`;
    if (s.segHidden[key]) continue;
    const a = frameToImage(f, seg, ref, plane);
    if (!a) continue;
    const segment = seg.segments.find((x) => x.number === f.segment);
    const opacity = s.segOpacity[key] ?? DEFAULT_SEG_OPACITY;
    const bmp = cached(`seg:${sop}:${f.index}:${opacity}`, seg.columns, seg.rows, () => frameRGBA(frameValues(seg, f.index), segment?.colour ?? [255, 80, 80], opacity));
    g.setTransform(...scaled(compose(toCanvas, a)));
    // Label maps are nearest-neighbour: a smoothed edge would draw a segment where it is not.
    g.imageSmoothingEnabled = false;
    g.drawImage(bmp, 0, 0);
    n++;
  }
  return n;
}

function drawPmap(g: CanvasRenderingContext2D, sop: string, p: ParsedPmap, threshold: number, ref: ImageRef, plane: ImagePlane, toCanvas: Affine, scaled: (m: Affine) => Affine): number {
  let n = 0;
  for (const f of p.frames) {
    // A frame naming its source image but lying on a plane is placed by the plane when the source
    // is not this image's SOP (maps resampled to a grid of their own often name a source anyway).
    const a = frameToImage(f, p, ref, plane) ?? (f.sourceSopInstanceUID && f.plane ? frameToImage({ ...f, sourceSopInstanceUID: undefined }, p, ref, plane) : null);
    if (!a) continue;
    const bmp = cached(`pmap:${sop}:${f.index}:${threshold}`, p.columns, p.rows, () => pmapRGBA(p, f.index, threshold, 0.6, colourMap));
    g.setTransform(...scaled(compose(toCanvas, a)));
    g.imageSmoothingEnabled = true;
    g.drawImage(bmp, 0, 0);
    n++;
  }
  return n;
}

function drawPr(g: CanvasRenderingContext2D, pr: ParsedPr, applied: boolean, ref: ImageRef, plane: ImagePlane, toCanvas: Affine, dpr: number, canvas: HTMLCanvasElement, report: DrawReport): void {
  const onImage = pr.images.some((i) => i.sopInstanceUID === ref.sopInstanceUID && (!i.frames.length || i.frames.includes(ref.frameNumber ?? 1)));
  if (!onImage) return;
  const frame = ref.frameNumber ?? 1;
  const c = (p: Vec2): Vec2 => {
    const q = apply(toCanvas, p);
    return [q[0] * dpr, q[1] * dpr];
  };
  g.setTransform(1, 0, 0, 1, 0, 0);
  if (applied && pr.shutters.length) {
    // Everything outside the shutter is blanked (even-odd: the canvas minus the open area).
    g.beginPath();
    g.rect(0, 0, canvas.width, canvas.height);
    for (const sh of pr.shutters) {
      if (sh.shape === 'RECTANGULAR') {
        const pts = [c([sh.left, sh.top]), c([sh.right, sh.top]), c([sh.right, sh.bottom]), c([sh.left, sh.bottom])];
        g.moveTo(...pts[0]);
        for (const p of pts.slice(1)) g.lineTo(...p);
        g.closePath();
      } else if (sh.shape === 'CIRCULAR') {
        const pts = Array.from({ length: 72 }, (_, k) => c([sh.centre[0] + sh.radius * Math.cos((k * Math.PI) / 36), sh.centre[1] + sh.radius * Math.sin((k * Math.PI) / 36)]));
        g.moveTo(...pts[0]);
        for (const p of pts.slice(1)) g.lineTo(...p);
        g.closePath();
      } else if (sh.vertices.length > 2) {
        const pts = sh.vertices.map(c);
        g.moveTo(...pts[0]);
        for (const p of pts.slice(1)) g.lineTo(...p);
        g.closePath();
      }
    }
    g.fillStyle = '#000';
    g.fill('evenodd');
    report.shutter = true;
  }
  g.lineWidth = 1.5 * dpr;
  for (const gr of pr.graphics) {
    if (!inScope(gr.scope, ref.sopInstanceUID, frame)) continue;
    const shape = outline(gr, plane.columns, plane.rows);
    if (!shape.points.length) continue;
    const colour = (gr.layer && pr.layerColours[gr.layer]) || '#ffd84d';
    g.strokeStyle = colour;
    g.fillStyle = colour;
    const pts = shape.points.map(c);
    if (shape.markers) {
      for (const p of pts) {
        g.beginPath();
        g.arc(p[0], p[1], 3 * dpr, 0, 2 * Math.PI);
        g.fill();
      }
    } else {
      g.beginPath();
      g.moveTo(...pts[0]);
      for (const p of pts.slice(1)) g.lineTo(...p);
      if (shape.closed) g.closePath();
      if (gr.filled) {
        g.globalAlpha = 0.35;
        g.fill();
        g.globalAlpha = 1;
      }
      g.stroke();
    }
    report.prGraphics++;
  }
  g.font = `${14 * dpr}px system-ui, sans-serif`;
  g.textBaseline = 'top';
  for (const t of pr.texts) {
    if (!inScope(t.scope, ref.sopInstanceUID, frame)) continue;
    const at = t.box ? toPixel(t.box[0], t.units, plane.columns, plane.rows) : t.anchor ? toPixel(t.anchor, t.units, plane.columns, plane.rows) : null;
    if (!at) continue;
    const p = c(at);
    g.lineWidth = 3 * dpr;
    g.strokeStyle = 'rgba(0,0,0,0.8)';
    g.strokeText(t.text, p[0], p[1]);
    g.fillStyle = (t.layer && pr.layerColours[t.layer]) || '#ffd84d';
    g.fillText(t.text, p[0], p[1]);
    report.texts.push({ text: t.text, x: p[0] / dpr, y: p[1] / dpr });
  }
}
