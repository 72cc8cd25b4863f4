/**
 * The page's entry, kept tiny and free of React and the app: on a viewer deep link it starts the
 * study's DICOM requests and paints the opening image as soon as the gateway sends it, and only then
 * (or after PREVIEW_FIRST_MS at most) evaluates the app, whose start-up would otherwise hold the main
 * thread exactly when the frame arrives. The app's code is fetched meanwhile.
 */
import { prefetchStudy, viewerStudyOf } from './app/prefetch';
import { paintBootPreview, previewSettled } from './viewer/previewImage';
import { startEarlyKeys } from './app/earlyKeys';

const PREVIEW_FIRST_MS = 700;

const study = viewerStudyOf(window.location.pathname);
if (study) {
  startEarlyKeys();
  prefetchStudy(study);
  paintBootPreview(study);
  // The app's chunks are fetched meanwhile (modulepreload links in index.html, vite.config.ts).
  void Promise.race([previewSettled(study), new Promise((r) => setTimeout(r, PREVIEW_FIRST_MS))]).then(() => import('./app/start'));
} else {
  void import('./app/start');
}
