import { describe, expect, it } from 'vitest';
import { pixelPipeline } from './pipeline';

describe('pixelPipeline', () => {
  it('loads ahead of consumption, in order, each slice once, never past the end', async () => {
    const started: number[] = [];
    const p = pixelPipeline(5, async (i) => (started.push(i), i * 10), 2);
    expect(started).toEqual([]);
    p.prime();
    expect(started).toEqual([0, 1]);
    expect(await p.take(0)).toBe(0);
    expect(started).toEqual([0, 1, 2]);
    expect(await p.take(1)).toBe(10);
    expect(await p.take(2)).toBe(20);
    expect(await p.take(3)).toBe(30);
    expect(await p.take(4)).toBe(40);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it('a failed load surfaces when its slice is taken, not before', async () => {
    const p = pixelPipeline(3, async (i) => {
      if (i === 1) throw new Error('slice 1 unreadable');
      return i;
    }, 3);
    p.prime();
    await new Promise((r) => setTimeout(r, 0));
    expect(await p.take(0)).toBe(0);
    await expect(p.take(1)).rejects.toThrow('slice 1 unreadable');
  });
});
