import { describe, expect, it } from 'vitest';
import { cappedParallelScale } from './zoomCap';

describe('cappedParallelScale', () => {
  // A 512 × 0.45 mm = 230.4 mm head CT in a square 800 px viewport: fitted, the parallel scale is 115.2 mm.
  it('a small finding is not blown up beyond 4× the fitted image', () => {
    // A 4 mm finding framed to a third of the view would be parallel scale 6 mm: 19.2×.
    expect(cappedParallelScale(6, 230.4, 230.4, 800, 800)).toBeCloseTo(115.2 / 4, 6);
  });
  it('a large finding keeps its own framing', () => {
    expect(cappedParallelScale(60, 230.4, 230.4, 800, 800)).toBe(60);
  });
  it('a wide viewport fits by height; a tall one by width', () => {
    expect(cappedParallelScale(1, 230.4, 230.4, 1600, 800)).toBeCloseTo(115.2 / 4, 6);
    expect(cappedParallelScale(1, 230.4, 230.4, 400, 800)).toBeCloseTo(230.4 / 4, 6); // width 230.4 needs half-height 230.4
  });
  it('unknown image size: the target as it was', () => {
    expect(cappedParallelScale(6, NaN, NaN, 800, 800)).toBe(6);
  });
});
