/**
 * What a viewer deep link needs before anything else, started by the page's entry (src/main.tsx)
 * while the app's own code is still on its way, all in parallel: the opening frame (the gateway
 * picks it: /api/studies/:uid/first-image), the series list, and the study's metadata, which gives
 * the first series' stack order and so the rest of its frames. Plain fetch, no DICOMweb library: this runs before the app bundle.
 * The viewer takes each answer once (takePrefetched, takeFrame); a failed prefetch (say, before
 * log-in) is simply redone by the viewer, which reports any error itself.
 */
import { prefetchFrames, registerFrame, type FetchedFrame } from '../dicomweb/frames';
import { firstImageOf, framePath } from '../core/imaging/stack';
import { TAG, str, type DicomJson } from '../core/imaging/dicomJson';
import { transferSyntaxOf } from '../core/dicomweb/multipart';
import type { PreviewInfo } from '../core/imaging/preview';

const ROOT = '/dicom-web';
const SERIES_FIELDS = '0008103E,00200011,00201209,00080060';

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

async function getJson(path: string): Promise<DicomJson[]> {
  const r = await fetch(ROOT + path, { credentials: 'same-origin', headers: { accept: 'application/dicom+json' } });
  if (!r.ok) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
  const body = (await r.json()) as unknown;
  if (!Array.isArray(body) || !body.length) throw Object.assign(new Error('empty'), { status: 404 });
  return body as DicomJson[];
}

/** The first image the viewer will show, from the gateway's first-image answer (for the preview). */
export interface FirstFrame {
  url: string;
  info: PreviewInfo | null;
  frame: FetchedFrame;
}
const firstFrames = new Map<string, Promise<FirstFrame | null>>();

export function firstFrameOf(studyUID: string): Promise<FirstFrame | null> {
  return firstFrames.get(studyUID) ?? Promise.resolve(null);
}

async function fetchFirstImage(studyUID: string): Promise<FirstFrame> {
  const r = await fetch(`/api/studies/${studyUID}/first-image`, { credentials: 'same-origin', priority: 'high' } as RequestInit);
  const path = r.headers.get('x-frame-path');
  if (!r.ok || !path) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
  const info = JSON.parse(decodeURIComponent(r.headers.get('x-preview-info') ?? 'null')) as PreviewInfo | null;
  const frame = { pixelData: new Uint8Array(await r.arrayBuffer()), transferSyntax: transferSyntaxOf(r.headers.get('content-type') ?? undefined) };
  return { url: `${window.location.origin}${ROOT}${path}`, info, frame };
}

/** More frames than this are left to the viewer's own prefetch (long multi-frame cines). */
const MAX_PREFETCH_FRAMES = 400;

export function prefetchStudy(studyUID: string): void {
  if (firstFrames.has(studyUID)) return;
  const first = fetchFirstImage(studyUID);
  first.catch(() => {});
  firstFrames.set(
    studyUID,
    first.catch(() => null),
  );
  keep(`series:${studyUID}`, getJson(`/studies/${studyUID}/series?includefield=${SERIES_FIELDS}`));
  getJson(`/studies/${studyUID}/metadata`)
    .then((instances) => {
      const bySeries = new Map<string, DicomJson[]>();
      for (const i of instances) {
        const uid = str(i, TAG.SeriesInstanceUID) ?? '';
        bySeries.set(uid, [...(bySeries.get(uid) ?? []), i]);
      }
      for (const [uid, list] of bySeries) keep(`metadata:${studyUID}/${uid}`, Promise.resolve(list));
      const opening = firstImageOf(studyUID, instances);
      if (!opening) return;
      // The order the viewer computes, so the frames arrive in the order they are shown; the first
      // is the gateway's first-image answer, and the rest wait for it rather than compete with it.
      const urls = opening.entries.slice(0, MAX_PREFETCH_FRAMES).map((e) => `${window.location.origin}${ROOT}${framePath(studyUID, e)}`);
      void first.then(
        (f) => {
          if (f.url === urls[0]) registerFrame(f.url, f.frame);
          prefetchFrames(urls);
        },
        () => prefetchFrames(urls),
      );
    })
    .catch(() => {});
}

/** The study UID of a viewer deep link, if this is one. */
export function viewerStudyOf(pathname: string): string | undefined {
  return /^\/viewer\/([0-9.]+)\/?$/.exec(pathname)?.[1];
}
