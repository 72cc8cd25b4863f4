import { describe, expect, it } from 'vitest';
import { CINE_FPS, cineDelay, nextCineFps, nextCineIndex } from './cine';

describe('cine', () => {
  it('steps the frame rate through the list and stops at its ends', () => {
    expect(nextCineFps(10, 1)).toBe(15);
    expect(nextCineFps(10, -1)).toBe(5);
    expect(nextCineFps(CINE_FPS[CINE_FPS.length - 1], 1)).toBe(30);
    expect(nextCineFps(2, -1)).toBe(2);
    // A rate not in the list counts as 10 frames/s.
    expect(nextCineFps(7, 1)).toBe(15);
  });
  it('loops from the last slice back to the first', () => {
    expect(nextCineIndex(0, 5)).toBe(1);
    expect(nextCineIndex(4, 5)).toBe(0);
    expect(nextCineIndex(0, 0)).toBe(0);
  });
  it('waits a frame time less what the step took, never less than nothing', () => {
    expect(cineDelay(10, 30)).toBe(70);
    expect(cineDelay(10, 150)).toBe(0);
  });
});
