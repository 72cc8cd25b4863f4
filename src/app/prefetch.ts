/**
 * What a viewer deep link needs before anything else, started by the page's entry (src/main.tsx)
 * while the app's own code is still on its way, all in parallel: the opening series' frames in
 * display order (the gateway streams them: /api/studies/:uid/opening), the series list, and the
 * study's metadata. Plain fetch, no DICOMweb library: this runs before the app bundle.
 * The viewer takes each answer once (takePrefetched, takeFrame); a failed prefetch (say, before
 * log-in) is simply redone by the viewer, which reports any error itself.
 */
import { expectFrames, type FetchedFrame } from '../dicomweb/frames';
import { boundaryOf, readParts } from '../core/dicomweb/partStream';
import { TAG, str, type DicomJson } from '../core/imaging/dicomJson';
import { transferSyntaxOf } from '../core/dicomweb/multipart';
import type { PreviewInfo } from '../core/imaging/preview';

const ROOT = '/dicom-web';
const SERIES_FIELDS = '0008103E,00200011,00201209,00080060';

const prefetched = new Map<string, Promise<unknown>>();

/** A study's metadata request, started and not yet split by series (see prefetchStudy). */
const studyMetadata = new Map<string, Promise<unknown>>();

export function takePrefetched<T>(key: string, fetch: () => Promise<T>): Promise<T> {
  const p = prefetched.get(key) as Promise<T> | undefined;
  prefetched.delete(key);
  if (p) return p.catch(() => fetch());
  // A series' metadata asked for while the study's is still on its way: wait for that one rather
  // than make the PACS read every file of the series a second time.
  const study = /^metadata:([^/]+)\//.exec(key)?.[1];
  const pending = study ? studyMetadata.get(study) : undefined;
  if (pending) return pending.then(() => takePrefetched(key, fetch), () => fetch());
  return fetch();
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

/** The first image the viewer will show, from the gateway's opening stream (for the preview). */
export interface FirstFrame {
  url: string;
  info: PreviewInfo | null;
  frame: FetchedFrame;
}
const firstFrames = new Map<string, Promise<FirstFrame | null>>();

export function firstFrameOf(studyUID: string): Promise<FirstFrame | null> {
  return firstFrames.get(studyUID) ?? Promise.resolve(null);
}

/**
 * Reads /api/studies/:uid/opening: a manifest (every frame of the opening series, in display order,
 * and how to display the first), then the frames as they come. Resolves with the first frame; the
 * others land in the frame store for the viewer.
 */
function openingStream(studyUID: string, onManifest: (frames: number) => void): Promise<FirstFrame> {
  return new Promise<FirstFrame>((resolveFirst, rejectFirst) => {
    void (async () => {
      let delivery: ReturnType<typeof expectFrames> | null = null;
      try {
        const r = await fetch(`/api/studies/${studyUID}/opening`, { credentials: 'same-origin', priority: 'high' } as RequestInit);
        const boundary = boundaryOf(r.headers.get('content-type'));
        if (!r.ok || !r.body || !boundary) throw Object.assign(new Error(`HTTP ${r.status}`), { status: r.status });
        let manifest: { frames: string[]; preview: PreviewInfo | null } | null = null;
        let firstUrl = '';
        for await (const part of readParts(r.body, boundary)) {
          if (!manifest) {
            manifest = JSON.parse(new TextDecoder().decode(part.body)) as { frames: string[]; preview: PreviewInfo | null };
            const urls = manifest.frames.map((p) => `${window.location.origin}${ROOT}${p}`);
            firstUrl = urls[0] ?? '';
            delivery = expectFrames(urls);
            performance.mark('rs:opening-manifest');
            onManifest(urls.length);
            continue;
          }
          const url = `${window.location.origin}${part.headers['content-location'] ?? ''}`;
          const frame = { pixelData: part.body, transferSyntax: transferSyntaxOf(part.headers['content-type']) };
          delivery!.deliver(url, frame);
          if (url === firstUrl) {
            performance.mark('rs:opening-first-frame');
            resolveFirst({ url, info: manifest.preview, frame });
          }
        }
        rejectFirst(new Error('the opening stream had no first frame'));
      } catch (e) {
        rejectFirst(e);
      } finally {
        (delivery as ReturnType<typeof expectFrames> | null)?.end();
      }
    })();
  });
}

/**
 * Series longer than this wait for their first frame before the study's metadata is asked for:
 * the PACS builds WADO-RS metadata by reading every file (Orthanc with DICOMweb 1.7 has no cache),
 * about 0.5 s of a core for 560 slices, and on a small server that read competes with sending
 * the first frame (bench:viewer --slices 28,560). A short series' metadata is cheap: asked for as
 * soon as the manifest says how long the series is.
 */
const LONG_SERIES = 100;
/** The metadata request starts after this long at the latest (a first frame that is slow to come). */
const METADATA_LATEST_MS = 1_500;

export function prefetchStudy(studyUID: string): void {
  if (firstFrames.has(studyUID)) return;
  let go: () => void = () => {};
  const gate = new Promise<void>((resolve) => (go = resolve));
  const latest = setTimeout(() => go(), METADATA_LATEST_MS);
  firstFrames.set(
    studyUID,
    openingStream(studyUID, (frames) => {
      if (frames <= LONG_SERIES) go();
    })
      .finally(() => go())
      .catch(() => null),
  );
  keep(`series:${studyUID}`, getJson(`/studies/${studyUID}/series?includefield=${SERIES_FIELDS}`));
  const metadata = gate
    .then(() => {
      clearTimeout(latest);
      return getJson(`/studies/${studyUID}/metadata`);
    })
    .then((instances) => {
      const bySeries = new Map<string, DicomJson[]>();
      for (const i of instances) {
        const uid = str(i, TAG.SeriesInstanceUID) ?? '';
        const list = bySeries.get(uid);
        if (list) list.push(i);
        else bySeries.set(uid, [i]);
      }
      for (const [uid, list] of bySeries) keep(`metadata:${studyUID}/${uid}`, Promise.resolve(list));
    })
    .finally(() => studyMetadata.delete(studyUID));
  metadata.catch(() => {});
  studyMetadata.set(studyUID, metadata);
  // Without the opening stream (an older gateway, an error), Cornerstone's own WADO-RS loader
  // fetches the frames, as it does for every other series.
}

/** The study UID of a viewer deep link, if this is one. */
export function viewerStudyOf(pathname: string): string | undefined {
  return /^\/viewer\/([0-9.]+)\/?$/.exec(pathname)?.[1];
}
