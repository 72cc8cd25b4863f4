/**
 * Scale and orientation for a viewport's overlay (viewport 0's and the side viewports' alike):
 * millimetres per screen pixel (only where the slice has Pixel Spacing: Cornerstone's world is then
 * in mm) and the edge markers of the slice's orientation. Read from the viewport at each render; the
 * key lets a scroll step through slices of one orientation cost a string comparison.
 */
import type { Types } from '@cornerstonejs/core';
import type { StackEntry } from '../core/imaging/stack';
import { orientationMarkers, type OrientationMarkers } from '../core/imaging/orientation';

export interface ViewGeometry {
  flipH: boolean;
  flipV: boolean;
  rotation: number;
  mmPerPx: number | null;
}

/**
 * The viewport's camera as the overlay needs it; null before a new stack's first image is in (the CPU
 * path has no camera geometry then and its getters throw: the overlay keeps what it had until the next render).
 */
export function readViewGeometry(vp: Types.IStackViewport, entry: StackEntry): ViewGeometry | null {
  try {
    const cam = vp.getCamera();
    const rotation = vp.getViewPresentation?.().rotation ?? 0;
    let mmPerPx: number | null = null;
    if (entry.pixelSpacing) {
      // Two canvas points 100 CSS pixels apart, in world millimetres (both rendering paths).
      const a = vp.canvasToWorld([0, 0]);
      const b = vp.canvasToWorld([0, 100]);
      const d = Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]) / 100;
      if (Number.isFinite(d) && d > 0) mmPerPx = d;
    }
    return { flipH: !!cam.flipHorizontal, flipV: !!cam.flipVertical, rotation, mmPerPx };
  } catch {
    return null;
  }
}

/** Identifies what the markers and the scale bar depend on: unchanged key, nothing to recompute. */
export function viewGeometryKey(seriesUID: string | null, entry: StackEntry, zoom: number, g: ViewGeometry): string {
  return `${seriesUID}|${entry.geometry.iop?.join(',')}|${zoom}|${g.mmPerPx}|${g.flipH}|${g.flipV}|${g.rotation}`;
}

export function markersOf(entry: StackEntry, g: ViewGeometry): OrientationMarkers | null {
  return orientationMarkers(entry.geometry.iop, { flipH: g.flipH, flipV: g.flipV, rotation: g.rotation });
}

export function sameMarkers(a: OrientationMarkers | null, b: OrientationMarkers | null): boolean {
  return a?.top === b?.top && a?.bottom === b?.bottom && a?.left === b?.left && a?.right === b?.right;
}
