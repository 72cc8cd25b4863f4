/**
 * Zoom to a finding without losing the anatomy around it (issue 15 item 7): a small finding framed to a
 * third of the viewport came out at up to 19× the fitted image, where the reader no longer sees which
 * structure it is in. The magnification is capped against the whole image fitted to the viewport.
 */
export const MAX_FINDING_ZOOM = 4;

/**
 * Cornerstone's parallel scale (half the visible world height, mm) for `target`, never below the
 * scale that shows the whole image (imageW × imageH mm) fitted to a canvasW × canvasH viewport,
 * divided by `maxZoom`.
 */
export function cappedParallelScale(target: number, imageW: number, imageH: number, canvasW: number, canvasH: number, maxZoom = MAX_FINDING_ZOOM): number {
  const fit = Math.max(imageH / 2, imageW / (2 * (canvasW / canvasH)));
  return Number.isFinite(fit) && fit > 0 ? Math.max(target, fit / maxZoom) : target;
}
