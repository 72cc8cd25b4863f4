/** Going to an object's image (KOS key images, "show on its images") and applying a presentation state. */
import type { Types } from '@cornerstonejs/core';
import type { ViewerContext } from '../viewer/extensions';
import { latestContext } from '../findings/navigation';
import { stackViewport } from '../findings/viewport';
import { inScope } from '../core/objects/gsps';
import type { KeyImage } from '../core/objects/content';
import { useObjectsStore } from './state';

const nextFrame = () => new Promise<void>((r) => requestAnimationFrame(() => r()));

/** The newest context the viewer rendered (a context is a snapshot; after showSeries we need the next). */
async function contextFor(series: string, ctx0: ViewerContext): Promise<ViewerContext | null> {
  for (let i = 0; i < 600; i++) {
    const c = latestContext() ?? ctx0;
    if (c.activeSeriesUID === series && c.imageRefs.length) return c;
    await nextFrame();
  }
  return null;
}

/** Shows the image's series (if another is shown) and scrolls to the image; false if it is not there. */
export async function goToImage(ctx: ViewerContext, img: KeyImage): Promise<boolean> {
  let series = img.seriesInstanceUID;
  if (!series) series = ctx.activeSeriesUID ?? '';
  if (series !== ctx.activeSeriesUID) await ctx.showSeries(series);
  const c = await contextFor(series, ctx);
  if (!c) return false;
  const frame = img.frames[0] ?? 1;
  const idx = c.imageRefs.findIndex((r) => r.sopInstanceUID === img.sopInstanceUID && (r.frameNumber ?? 1) === frame);
  if (idx < 0) return false;
  await c.scrollToIndex(idx);
  return true;
}

/**
 * Applies a presentation state (or removes it, sop null): its shutter is drawn by the overlay, its
 * Softcopy VOI is set on the viewport for the image it names. Removing it restores the image's own VOI.
 */
export async function applyPresentation(ctx: ViewerContext, sop: string | null): Promise<void> {
  useObjectsStore.setState({ appliedPr: sop });
  const vp = stackViewport(latestContext() ?? ctx);
  if (!vp) return;
  if (!sop) {
    vp.resetProperties?.();
    vp.render();
    return;
  }
  const l = useObjectsStore.getState().loaded[sop];
  if (!l || l.kind !== 'pr') return;
  const c = latestContext() ?? ctx;
  const first = l.pr.images[0];
  if (first && !c.imageRefs.some((r) => r.sopInstanceUID === first.sopInstanceUID)) await goToImage(c, { ...first, frames: first.frames });
  const v = stackViewport(latestContext() ?? ctx) as Types.IStackViewport | null;
  if (!v) return;
  const ref = (latestContext() ?? ctx).imageRefs[v.getCurrentImageIdIndex()];
  const voi = l.pr.voi.find((x) => !ref || inScope(x.scope, ref.sopInstanceUID, ref.frameNumber ?? 1));
  if (voi) {
    v.setProperties({ voiRange: { lower: voi.center - 0.5 - (voi.width - 1) / 2, upper: voi.center - 0.5 + (voi.width - 1) / 2 } });
    v.render();
  }
}
