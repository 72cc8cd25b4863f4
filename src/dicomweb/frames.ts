/**
 * Frames that arrived before Cornerstone was loaded: on a viewer deep link, the gateway's opening
 * stream brings the first series' frames (stored transfer syntax) while the Cornerstone chunk is
 * still downloading and compiling; the viewer's image loader then takes each frame from here instead
 * of asking the PACS again. Each frame is taken at most once.
 */
export interface FetchedFrame {
  pixelData: Uint8Array;
  transferSyntax: string;
}

const frames = new Map<string, Promise<FetchedFrame>>();

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
