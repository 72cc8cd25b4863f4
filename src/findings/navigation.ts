/** Going to a finding: switch series if needed, scroll to its slice, centre and zoom on its box. */
import type { ViewerContext } from '../viewer/extensions';
import type { Finding, Region } from '../core/findings/finding';
import { boxCentre, imageToWorld, parallelScaleToFit } from '../core/findings/geometry';
import { cappedParallelScale } from '../core/imaging/zoomCap';
import { centreCamera, currentPlane, indexOfRegion, stackViewport } from './viewport';
import { sortedFindings, useFindingsStore } from './state';

/** The newest ViewerContext the viewer rendered us with (a context is a snapshot; awaits need the next one). */
let latest: ViewerContext | null = null;
const waiters = new Set<() => void>();
export function noteContext(ctx: ViewerContext): void {
  latest = ctx;
  for (const w of waiters) w();
}
export function latestContext(): ViewerContext | null {
  return latest;
}

function waitFor(pred: (c: ViewerContext) => boolean, timeoutMs = 10_000): Promise<ViewerContext | null> {
  return new Promise((resolve) => {
    const check = () => {
      if (latest && pred(latest)) {
        waiters.delete(check);
        clearTimeout(t);
        resolve(latest);
      }
    };
    const t = setTimeout(() => {
      waiters.delete(check);
      resolve(null);
    }, timeoutMs);
    waiters.add(check);
    check();
  });
}

const nextFrame = () => new Promise<void>((r) => requestAnimationFrame(() => r()));

/** The region to go to: the first with geometry on its image (a box or polygon), else the first. */
export function targetRegion(f: Finding): Region {
  return f.regions.find((r) => r.box || r.polygon) ?? f.regions[0];
}

export async function goToFinding(f: Finding, ctx0: ViewerContext): Promise<boolean> {
  useFindingsStore.setState({ selectedId: f.id });
  const region = targetRegion(f);
  let ctx: ViewerContext | null = ctx0;
  if (region.image.seriesInstanceUID !== ctx.activeSeriesUID) {
    await ctx.showSeries(region.image.seriesInstanceUID);
    ctx = await waitFor((c) => c.activeSeriesUID === region.image.seriesInstanceUID && c.imageRefs.length > 0);
    if (!ctx) return false;
  }
  const idx = indexOfRegion(ctx, region);
  if (idx < 0) return false;
  await ctx.scrollToIndex(idx);
  const vp = stackViewport(ctx);
  if (!vp) return false;
  // The viewport swaps its image data asynchronously; wait until it shows the target image.
  for (let i = 0; i < 120 && vp.getCurrentImageIdIndex() !== idx; i++) await nextFrame();
  const plane = currentPlane(vp);
  const box = region.box ?? (region.polygon ? polygonBox(region.polygon) : undefined);
  if (plane && box) {
    const centre = imageToWorld(plane, boxCentre(box));
    const canvas = vp.canvas;
    const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
    // Capped at 4× the fitted image, so a small finding keeps its anatomical context.
    centreCamera(vp, centre, cappedParallelScale(parallelScaleToFit(box.width * plane.columnSpacing, box.height * plane.rowSpacing, w, h), plane.columns * plane.columnSpacing, plane.rows * plane.rowSpacing, w, h));
  }
  return true;
}

function polygonBox(pts: [number, number][]) {
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x = Math.min(...xs), y = Math.min(...ys);
  return { x, y, width: Math.max(1, Math.max(...xs) - x), height: Math.max(1, Math.max(...ys) - y) };
}

/** N / P: the next or previous finding in sidebar order (wraps). */
export async function stepFinding(dir: 1 | -1, ctx: ViewerContext): Promise<void> {
  const s = useFindingsStore.getState();
  const list = sortedFindings(s);
  if (!list.length) return;
  const i = list.findIndex((f) => f.id === s.selectedId);
  const next = list[i < 0 ? (dir === 1 ? 0 : list.length - 1) : (i + dir + list.length) % list.length];
  await goToFinding(next, ctx);
}
