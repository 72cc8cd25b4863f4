/**
 * The study's first image, on screen before Cornerstone is: drawn from the prefetched frame with the
 * viewer's own window and polarity rules (core/imaging/preview.ts), fitted where the stack viewport
 * will show it. The viewer lays Cornerstone's canvas over it and removes it after Cornerstone's first
 * render. Kept out of the Cornerstone chunk (this file imports nothing from it) so it can draw
 * while that chunk is still downloading and compiling.
 */
import { useLayoutEffect, useRef } from 'react';
import { decodedPreview, decodedPreviewNow, paintPreview, removeBootPreview, type PreviewImage } from './previewImage';

export function FirstFramePreview({ studyUID }: { studyUID: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  // A layout effect, and the decoded image taken synchronously when it is there: a canvas that is
  // mounted (or remounted, when the app swaps its loading skeleton) is never shown blank for a frame.
  useLayoutEffect(() => {
    const canvas = ref.current!;
    let drawn: PreviewImage | null = null;
    let cancelled = false;
    const paint = () => {
      if (drawn) paintPreview(canvas, drawn, studyUID);
    };
    const show = (d: PreviewImage | null) => {
      if (cancelled || !d) return;
      drawn = d;
      paint();
      removeBootPreview(true);
    };
    const now = decodedPreviewNow(studyUID);
    if (now) show(now);
    else void decodedPreview(studyUID).then(show);
    const ro = new ResizeObserver(paint);
    ro.observe(canvas);
    return () => {
      cancelled = true;
      ro.disconnect();
    };
  }, [studyUID]);
  return <canvas ref={ref} className="first-frame-preview" data-testid="first-frame-preview" aria-hidden="true" />;
}
