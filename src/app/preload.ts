/**
 * The viewer chunk (Cornerstone, vtk.js, codecs: seconds of script evaluation on a small machine)
 * is imported only once the first image is on screen from the shell's preview, or once it is clear
 * there will be none: evaluating it earlier blocks the main thread exactly when the first frame
 * arrives. The DICOM prefetch itself is in prefetch.ts (started by the boot script).
 */
import { firstFrameOf, prefetchStudy, viewerStudyOf } from './prefetch';
import { previewSettled } from '../viewer/previewImage';
import { afterStackCached } from './firstImage';

export { prefetchStudy, takePrefetched } from './prefetch';

let viewerModule: Promise<typeof import('../viewer/ViewerPage')> | null = null;

export function loadViewerModule(): Promise<typeof import('../viewer/ViewerPage')> {
  viewerModule ??= import('../viewer/ViewerPage');
  return viewerModule;
}

/** Longest the chunk waits for the preview (a slow PACS must not delay the real viewer further). */
const PREVIEW_WAIT_MS = 1500;

/** For the route's lazy(): on a deep link, after the preview (or its absence) is settled. */
export function loadViewerModuleAfterPreview(): Promise<typeof import('../viewer/ViewerPage')> {
  const study = viewerStudyOf(window.location.pathname);
  if (!study || viewerModule) return loadViewerModule();
  const timeout = new Promise<void>((r) => setTimeout(r, PREVIEW_WAIT_MS));
  const first = firstFrameOf(study);
  const settled = first.then((f) => (f ? previewSettled(study) : undefined));
  // onnxruntime's start (seconds of WebAssembly compile, in its own worker) waits until every slice
  // of the opening series is decoded: run beside the viewer code's evaluation and the decode, on two
  // cores, it made the stack ready to scroll about half a second later (returning readers, for whom
  // the registry hint allows the head start), for AI results about 0.3 s sooner.
  void Promise.all([first, afterStackCached().promise])
    .then(([f]) => import('../ai/warmup').then((m) => m.warmForModality(f?.info?.modality ?? undefined)))
    .catch(() => {});
  return Promise.race([settled, timeout]).then(() => loadViewerModule());
}

export function preloadForPath(pathname: string): void {
  const study = viewerStudyOf(pathname);
  if (study) prefetchStudy(study);
}
