/**
 * Frames fetched before Cornerstone is loaded. On a viewer deep link the shell starts fetching the
 * first series' frames (WADO-RS, stored transfer syntax) as soon as it knows the stack order, while
 * the Cornerstone chunk is still downloading and compiling; the viewer's image loader then takes
 * each frame from here instead of asking the PACS again. Each frame is taken at most once.
 */
import { singlePart, transferSyntaxOf } from '../core/dicomweb/multipart';

export interface FetchedFrame {
  pixelData: Uint8Array;
  transferSyntax: string;
}

/** As Cornerstone's WADO-RS loader asks: the stored syntax, so nothing is transcoded. */
const FRAME_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';

export async function fetchFrame(url: string, priority: 'high' | 'low' | 'auto' = 'auto'): Promise<FetchedFrame> {
  const r = await fetch(url, { credentials: 'same-origin', headers: { accept: FRAME_ACCEPT }, priority } as RequestInit);
  if (!r.ok) throw Object.assign(new Error(`frame retrieval failed (HTTP ${r.status})`), { status: r.status });
  const part = singlePart(new Uint8Array(await r.arrayBuffer()), r.headers.get('content-type') ?? '');
  return { pixelData: part.bytes, transferSyntax: transferSyntaxOf(part.contentType) };
}

const frames = new Map<string, Promise<FetchedFrame>>();

/**
 * Starts fetching these frame URLs (absolute): the first alone, so that it does not share the PACS
 * and the wire with 27 others, then all the rest. Every URL is registered at
 * once, so the viewer's loader waits for a queued frame instead of asking the PACS a second time.
 */
export function prefetchFrames(urls: readonly string[]): void {
  const todo = urls.filter((u) => !frames.has(u));
  if (!todo.length) return;
  // The opening frame already came (first-image): nothing to wait for.
  const firstDone = urls.length > 0 && frames.has(urls[0]);
  type Starter = { begin(priority: 'high' | 'low'): Promise<boolean>; cancel(e: unknown): void };
  const starters = new Map<string, Starter>();
  for (const url of todo) {
    let starter!: Starter;
    const p = new Promise<FetchedFrame>((resolve, reject) => {
      starter = {
        begin: (priority) =>
          fetchFrame(url, priority).then(
            (f) => (resolve(f), true),
            (e: unknown) => (reject(e), false),
          ),
        cancel: reject,
      };
    });
    p.catch(() => {}); // the viewer's loader sees the rejection when it takes this frame
    frames.set(url, p);
    starters.set(url, starter);
  }
  if (firstDone) {
    for (const url of todo) void starters.get(url)!.begin('low');
    return;
  }
  const rest = todo.slice(1);
  void starters
    .get(todo[0])!
    .begin('high')
    .then((ok) => {
      // A refused first frame (session ended, PACS down) means the rest would be refused too: the
      // viewer's loader asks again itself, and reports what it gets.
      if (!ok) for (const url of rest) starters.get(url)!.cancel(new Error('prefetch abandoned'));
      // All at once, at low priority: the browser's network stack queues them (six per host) and
      // keeps them flowing while the main thread is busy evaluating the viewer's code; the app's own
      // requests (higher priority) still go first.
      else for (const url of rest) void starters.get(url)!.begin('low');
    });
}

/**
 * Frames announced by the gateway's opening stream, before their bytes: the viewer's loader waits
 * for them instead of asking the PACS again. Whatever the stream does not deliver is rejected when
 * it ends, and the loader then fetches it itself.
 */
export function expectFrames(urls: readonly string[]): { deliver(url: string, f: FetchedFrame): void; end(): void } {
  const waiting = new Map<string, { resolve: (f: FetchedFrame) => void; reject: (e: unknown) => void }>();
  for (const url of urls) {
    if (frames.has(url)) continue;
    const p = new Promise<FetchedFrame>((resolve, reject) => waiting.set(url, { resolve, reject }));
    p.catch(() => {}); // seen by the loader when it takes this frame
    frames.set(url, p);
  }
  return {
    deliver(url, f) {
      waiting.get(url)?.resolve(f);
      waiting.delete(url);
    },
    end() {
      for (const w of waiting.values()) w.reject(new Error('not in the opening stream'));
      waiting.clear();
    },
  };
}

/** The prefetched frame for this URL, once; undefined when none was prefetched (or already taken). */
export function takeFrame(url: string): Promise<FetchedFrame> | undefined {
  const p = frames.get(url);
  if (p) frames.delete(url);
  return p;
}

/** Drops what the viewer of this study did not take (it was closed early): frames are large. */
export function forgetStudyFrames(studyUID: string): void {
  for (const url of [...frames.keys()]) if (url.includes(`/studies/${studyUID}/`)) frames.delete(url);
}
