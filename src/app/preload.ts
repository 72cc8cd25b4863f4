/**
 * Starts what a route needs as early as possible: on a viewer URL the 3.6 MB Cornerstone chunk,
 * the series list and the first series' metadata are fetched in parallel instead of one after another.
 */
import { retrieveSeriesMetadata, searchSeries } from '../dicomweb/client';
import { seriesFromQido } from '../viewer/series';

let viewerModule: Promise<typeof import('../viewer/ViewerPage')> | null = null;

export function loadViewerModule(): Promise<typeof import('../viewer/ViewerPage')> {
  viewerModule ??= import('../viewer/ViewerPage');
  return viewerModule;
}

/**
 * One-shot: a prefetched answer is used once, so later calls (e.g. "is the study still there?") hit
 * the PACS. A failed prefetch (say, before log-in) is retried by `fetch` rather than reported.
 */
const prefetched = new Map<string, Promise<unknown>>();

export function takePrefetched<T>(key: string, fetch: () => Promise<T>): Promise<T> {
  const p = prefetched.get(key) as Promise<T> | undefined;
  prefetched.delete(key);
  return p ? p.catch(() => fetch()) : fetch();
}

function keep<T>(key: string, p: Promise<T>): Promise<T> {
  p.catch(() => {}); // the consumer handles the error; an unconsumed prefetch must not be "unhandled"
  prefetched.set(key, p);
  return p;
}

export function prefetchStudy(studyUID: string): void {
  if (prefetched.has(`series:${studyUID}`)) return;
  const series = keep(`series:${studyUID}`, searchSeries(studyUID));
  series
    .then((list) => {
      const first = seriesFromQido(list)[0];
      if (first) keep(`metadata:${studyUID}/${first.seriesInstanceUID}`, retrieveSeriesMetadata(studyUID, first.seriesInstanceUID));
    })
    .catch(() => {});
}

export function preloadForPath(pathname: string): void {
  const m = /^\/viewer\/([0-9.]+)\/?$/.exec(pathname);
  if (m) {
    void loadViewerModule();
    prefetchStudy(m[1]);
  }
}
