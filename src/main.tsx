/**
 * The page's entry, kept tiny and free of React and the app: on a viewer deep link it starts the
 * study's DICOM requests and the first image's decode at once, then loads the app, so the two run in
 * parallel instead of one after the other.
 */
import { prefetchStudy, viewerStudyOf } from './app/prefetch';
import { paintBootPreview } from './viewer/previewImage';

const study = viewerStudyOf(window.location.pathname);
if (study) {
  prefetchStudy(study);
  paintBootPreview(study);
}
void import('./app/start');
