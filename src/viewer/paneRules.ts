/**
 * Small rules shared by viewport 0 and the side viewports of a layout, kept pure (no Cornerstone) so
 * they are unit-tested on their own.
 */
import type { StackEntry } from '../core/imaging/stack';
import type { LeftTool } from './cornerstone';

/** Series, SOP Instance UID and frame (1-based, only for multi-frame instances) of each image id of a stack. */
export interface ImageRef {
  sopInstanceUID: string;
  frameNumber?: number;
  seriesInstanceUID: string;
}

export function imageRefsOf(entries: readonly StackEntry[]): ImageRef[] {
  return entries.map((e) => ({ sopInstanceUID: e.sopInstanceUID, frameNumber: e.numberOfFrames > 1 ? e.frameNumber : undefined, seriesInstanceUID: e.seriesInstanceUID }));
}

const VIEW_TOOLS: readonly LeftTool[] = ['windowLevel', 'pan', 'zoom'];

/**
 * The left-button tool a viewport takes from the toolbar. Measurements are stored with the open
 * study (its record, its sign-off), so a viewport showing another study (a prior) keeps window/level
 * under a measurement tool rather than drawing one that could not be stored.
 */
export function leftToolFor(tool: LeftTool, showsOpenStudy: boolean): LeftTool {
  return showsOpenStudy || VIEW_TOOLS.includes(tool) ? tool : 'windowLevel';
}

/** One viewport showing images of the open study: where its stored measurements are drawn again. */
export interface MeasurementView {
  viewportId: string;
  imageIds: readonly string[];
  imageRefs: readonly ImageRef[];
}

/** Where an image id is, in the first viewport that shows it; undefined when none does. */
export function refOfImage(views: readonly MeasurementView[], imageId: string): ImageRef | undefined {
  for (const v of views) {
    const i = v.imageIds.indexOf(imageId);
    if (i >= 0) return v.imageRefs[i];
  }
  return undefined;
}

/** The viewport and image id that show a stored frame (series, SOP, frame; frame 1 for single-frame images). */
export function viewOfRef(views: readonly MeasurementView[], ref: { seriesInstanceUID: string; sopInstanceUID: string; frameNumber: number }): { viewportId: string; imageId: string } | undefined {
  for (const v of views) {
    const i = v.imageRefs.findIndex((x) => x.seriesInstanceUID === ref.seriesInstanceUID && x.sopInstanceUID === ref.sopInstanceUID && (x.frameNumber ?? 1) === ref.frameNumber);
    if (i >= 0) return { viewportId: v.viewportId, imageId: v.imageIds[i] };
  }
  return undefined;
}
