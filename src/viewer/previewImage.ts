/**
 * The first image decoded for the preview (see FirstFramePreview), started by the boot script as
 * soon as its frame arrives, so that React only has to paint it. No React, no Cornerstone here.
 */
import { firstFrameOf, viewerStudyOf } from '../app/prefetch';
import { FIRST_IMAGE_MARK } from '../app/firstImage';
import { canPreview, fitRect, previewPixels, type PreviewInfo } from '../core/imaging/preview';

export interface PreviewImage {
  image: HTMLCanvasElement;
  info: PreviewInfo;
}

const decoded = new Map<string, Promise<PreviewImage | null>>();
const ready = new Map<string, PreviewImage>();

/** The decoded preview if it is already there (to paint in the same frame a canvas is mounted). */
export function decodedPreviewNow(studyUID: string): PreviewImage | undefined {
  return ready.get(studyUID);
}
const painted = new Map<string, () => void>();
const paintedPromises = new Map<string, Promise<void>>();

/** One decode per study, shared by the shell's placeholder and the viewer page. Null: no preview. */
export function decodedPreview(studyUID: string): Promise<PreviewImage | null> {
  let p = decoded.get(studyUID);
  if (!p) {
    p = firstFrameOf(studyUID)
      .then(async (first) => {
        if (!first) return null;
        const { info, frame } = first;
        if (!info || !canPreview(info, frame.transferSyntax, frame.pixelData.byteLength)) return null;
        const { rgba } = previewPixels(frame.pixelData, info);
        const image = document.createElement('canvas');
        image.width = info.columns;
        image.height = info.rows;
        image.getContext('2d')!.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, info.columns, info.rows), 0, 0);
        const d = { image, info };
        ready.set(studyUID, d);
        performance.mark('rs:preview-decoded');
        return d;
      })
      .catch(() => null);
    decoded.set(studyUID, p);
  }
  return p;
}

function paintedPromise(studyUID: string): Promise<void> {
  let p = paintedPromises.get(studyUID);
  if (!p) {
    p = new Promise<void>((resolve) => painted.set(studyUID, resolve));
    paintedPromises.set(studyUID, p);
  }
  return p;
}

export function notePreviewPainted(studyUID: string): void {
  paintedPromise(studyUID);
  painted.get(studyUID)?.();
}

/** Resolves once the preview is on screen, or at once when this study will have none. */
export function previewSettled(studyUID: string): Promise<void> {
  return decodedPreview(studyUID).then((d) => (d ? paintedPromise(studyUID) : undefined));
}

/** Paints the preview into a canvas laid over the viewport: fitted and centred on black. */
export function paintPreview(canvas: HTMLCanvasElement, d: PreviewImage, studyUID: string): void {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (!w || !h) return;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const r = fitRect(d.info, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(d.image, r.x, r.y, r.width, r.height);
  if (!performance.getEntriesByName(FIRST_IMAGE_MARK).length) {
    // The real first image's pixels are on the canvas now: the reader can start looking. (Work
    // deferred until the viewer is interactive waits for notifyFirstImage, from the controller.)
    performance.mark(FIRST_IMAGE_MARK, { detail: { by: 'preview' } });
  }
  notePreviewPainted(studyUID);
}

const BOOT_CLASS = 'boot-preview';

/**
 * Before React has rendered anything: a fixed canvas where the viewport will be (index.html places
 * it from the layout's CSS variables). The React preview replaces it as soon as it mounts.
 */
export function paintBootPreview(studyUID: string): void {
  void decodedPreview(studyUID).then((d) => {
    if (!d || reactPreviewMounted || viewerStudyOf(window.location.pathname) !== studyUID) return;
    const canvas = document.createElement('canvas');
    canvas.className = BOOT_CLASS;
    canvas.setAttribute('aria-hidden', 'true');
    document.body.appendChild(canvas);
    paintPreview(canvas, d, studyUID);
  });
}

let reactPreviewMounted = false;
export function removeBootPreview(byReactPreview = false): void {
  if (byReactPreview) reactPreviewMounted = true;
  for (const e of document.querySelectorAll(`.${BOOT_CLASS}`)) e.remove();
}
