/**
 * Pixels for the slices, loaded up to `ahead` slices before inference needs them, so that
 * fetching/decoding (Cornerstone's loader and decode workers; slices the viewer already decoded
 * come straight from its cache) overlaps session creation and inference instead of alternating.
 */
export function pixelPipeline<T>(count: number, load: (i: number) => Promise<T>, ahead: number): { prime(): void; take(i: number): Promise<T> } {
  const pending = new Map<number, Promise<T>>();
  let next = 0;
  const fill = (upTo: number) => {
    for (; next < Math.min(count, upTo); next++) {
      const p = load(next);
      p.catch(() => undefined); // surfaced by take(); not an unhandled rejection meanwhile
      pending.set(next, p);
    }
  };
  return {
    prime: () => fill(ahead),
    take: (i) => {
      fill(i + 1 + ahead);
      const p = pending.get(i)!;
      pending.delete(i);
      return p;
    },
  };
}
