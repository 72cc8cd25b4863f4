/**
 * The impure edge between findings and Cornerstone: which image is shown, its plane (taken from the
 * viewport's own image data, i.e. exactly what it renders), image<->canvas projection, the camera.
 */
import { getRenderingEngine, type Types } from '@cornerstonejs/core';
import type { ViewerContext } from '../viewer/extensions';
import type { Region } from '../core/findings/finding';
import { imageToWorld, worldToImage, type ImagePlane, type Vec2, type Vec3 } from '../core/findings/geometry';

export function stackViewport(ctx: Pick<ViewerContext, 'renderingEngineId' | 'viewportId'>): Types.IStackViewport | null {
  try {
    const vp = getRenderingEngine(ctx.renderingEngineId)?.getViewport(ctx.viewportId) as Types.IStackViewport | undefined;
    return vp ?? null;
  } catch {
    return null;
  }
}

/** The plane of the image the viewport shows now (null before the first image). */
export function currentPlane(vp: Types.IStackViewport): ImagePlane | null {
  let d: ReturnType<Types.IStackViewport['getImageData']> | undefined;
  try {
    d = vp.getImageData();
  } catch {
    return null;
  }
  if (!d || !d.origin || !d.direction || !d.spacing || !d.dimensions) return null;
  const m = d.direction;
  return {
    origin: [d.origin[0], d.origin[1], d.origin[2]],
    rowCosines: [m[0], m[1], m[2]],
    columnCosines: [m[3], m[4], m[5]],
    columnSpacing: d.spacing[0],
    rowSpacing: d.spacing[1],
    columns: d.dimensions[0],
    rows: d.dimensions[1],
  };
}

export interface Projection {
  plane: ImagePlane;
  toCanvas(p: Vec2): Vec2;
  toImage(c: Vec2): Vec2;
}

export function projection(vp: Types.IStackViewport): Projection | null {
  const plane = currentPlane(vp);
  if (!plane) return null;
  const viaViewport = (p: Vec2): Vec2 => {
    const c = vp.worldToCanvas(imageToWorld(plane, p) as Types.Point3);
    return [c[0], c[1]];
  };
  // Image -> canvas is affine for a stack viewport (in-plane scale, rotation, flip, pan), so three
  // points through the viewport fix it for every other: Cornerstone reads the camera afresh on each
  // worldToCanvas, which made drawing a slice's marks cost milliseconds on the scroll step.
  let affine: ((p: Vec2) => Vec2) | null = null;
  const SPAN = 256;
  return {
    plane,
    toCanvas: (p) => {
      if (!affine) {
        const o = viaViewport([0, 0]);
        const u = viaViewport([SPAN, 0]);
        const v = viaViewport([0, SPAN]);
        const ux = (u[0] - o[0]) / SPAN, uy = (u[1] - o[1]) / SPAN;
        const vx = (v[0] - o[0]) / SPAN, vy = (v[1] - o[1]) / SPAN;
        affine = (q) => [o[0] + q[0] * ux + q[1] * vx, o[1] + q[0] * uy + q[1] * vy];
      }
      return affine(p);
    },
    toImage: (c) => worldToImage(plane, vp.canvasToWorld(c as Types.Point2) as unknown as Vec3),
  };
}

/** Index into the active series' images of a region's image (frame-aware), or -1. */
export function indexOfRegion(ctx: Pick<ViewerContext, 'imageRefs'>, region: Region): number {
  const frame = region.image.frameNumber ?? 1;
  return ctx.imageRefs.findIndex((r) => r.sopInstanceUID === region.image.sopInstanceUID && (r.frameNumber ?? 1) === frame);
}

export function regionsOnImage<T extends { regions: Region[] }>(f: T, ref: ViewerContext['imageRefs'][number] | undefined): Region[] {
  if (!ref) return [];
  return f.regions.filter((r) => r.image.sopInstanceUID === ref.sopInstanceUID && (r.image.frameNumber ?? 1) === (ref.frameNumber ?? 1));
}

/** Moves the camera in-plane so that `worldCentre` is in the middle, at the given parallel scale. */
export function centreCamera(vp: Types.IStackViewport, worldCentre: Vec3, parallelScale: number): void {
  const cam = vp.getCamera();
  const fp = cam.focalPoint as unknown as Vec3;
  const pos = cam.position as unknown as Vec3;
  const n = (cam.viewPlaneNormal ?? [0, 0, 1]) as unknown as Vec3;
  const d: Vec3 = [worldCentre[0] - fp[0], worldCentre[1] - fp[1], worldCentre[2] - fp[2]];
  // Only the in-plane part: the depth of the camera is the stack viewport's business.
  const k = d[0] * n[0] + d[1] * n[1] + d[2] * n[2];
  const inPlane: Vec3 = [d[0] - k * n[0], d[1] - k * n[1], d[2] - k * n[2]];
  vp.setCamera({
    focalPoint: [fp[0] + inPlane[0], fp[1] + inPlane[1], fp[2] + inPlane[2]] as Types.Point3,
    position: [pos[0] + inPlane[0], pos[1] + inPlane[1], pos[2] + inPlane[2]] as Types.Point3,
    parallelScale,
  });
  vp.render();
}
