import { addStats, domainGuard, sliceStats, type DomainVerdict, type IntensityGuard, type IntensityStats, type ValueFacts } from '../core/ai/domain';
import { modalityLut } from '../core/ai/processing';

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

/**
 * pixelPipeline with THE domain guard (src/core/ai/domain.ts, the rule the server's pre-read applies)
 * watching every slice as it is taken: statistics from the slice's modality values (slope/intercept
 * applied, unless Cornerstone already did), summed over the run; `verdict()` after the last slice says
 * whether the series is inside the model's domain. Outside → the run shows the reason and counts no
 * findings. The statistics are taken before the pixels are transferred to the inference worker.
 */
export function guardedPixelPipeline<T extends { pixelData: ArrayLike<number>; slope?: number; intercept?: number }>(
  domain: { intensity?: IntensityGuard } | undefined,
  values: ValueFacts,
  count: number,
  load: (i: number) => Promise<T>,
  ahead: number,
): { prime(): void; take(i: number): Promise<T>; verdict(): DomainVerdict } {
  const guard = domain?.intensity;
  let sum: IntensityStats | null = null;
  const inner = pixelPipeline<T>(count, load, ahead);
  return {
    prime: inner.prime,
    take: (i) =>
      inner.take(i).then((px) => {
        if (guard) {
          const slope = px.slope ?? 1;
          const intercept = px.intercept ?? 0;
          const s = sliceStats(slope === 1 && intercept === 0 ? px.pixelData : modalityLut(px.pixelData, slope, intercept), guard);
          sum = sum ? addStats(sum, s) : s;
        }
        return px;
      }),
    verdict: () => domainGuard(domain, values, sum),
  };
}
