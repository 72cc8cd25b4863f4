import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { guardedPixelPipeline, pixelPipeline } from './pipeline';
import { parseManifest } from '../core/ai/manifest';
import { addStats, domainGuard, sliceStats } from '../core/ai/domain';
import { modalityLut } from '../core/ai/processing';

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

describe('guardedPixelPipeline: the browser run passes every slice through THE domain guard', () => {
  const manifest = (() => {
    const r = parseManifest(JSON.parse(fs.readFileSync(path.join(__dirname, '../../models/head-ct-hyperdensity/manifest.json'), 'utf8')));
    if (!r.ok) throw new Error(r.errors.join('; '));
    return r.value;
  })();
  /** Stored values of a 64×64 slice (intercept -1024): air, optionally a skull ring, textured or flat "brain". */
  const slice = (skull: boolean, noise: number) => {
    const px = new Int16Array(64 * 64);
    for (let y = 0; y < 64; y++)
      for (let x = 0; x < 64; x++) {
        const r = Math.hypot(x - 32, y - 32) / 32;
        const hu = r < 0.8 ? 35 + noise * (((x * 7 + y * 13) % 11) - 5) : skull && r < 0.9 ? 1200 : -1000;
        px[y * 64 + x] = hu + 1024;
      }
    return { pixelData: px, slope: 1, intercept: -1024, rows: 64, columns: 64 };
  };
  const runAll = async (slices: ReturnType<typeof slice>[]) => {
    const p = guardedPixelPipeline(manifest.domain, {}, slices.length, async (i) => slices[i], 2);
    p.prime();
    for (let i = 0; i < slices.length; i++) await p.take(i);
    return p.verdict();
  };

  it('a head-like series is inside; a phantom (no skull, uniform) is outside with the same reason the server gives', async () => {
    expect(manifest.domain.intensity).toBeDefined();
    expect(await runAll([slice(true, 3), slice(true, 3)])).toEqual({ ok: true });
    const phantom = [slice(false, 0), slice(false, 0)];
    const v = await runAll(phantom);
    expect(v.ok).toBe(false);
    // The same rule on the same values, as the pre-read sums them (src/core/ai/domain.ts).
    const guard = manifest.domain.intensity!;
    const hu = phantom.map((s) => modalityLut(s.pixelData, s.slope, s.intercept));
    expect(v).toEqual(domainGuard(manifest.domain, {}, addStats(sliceStats(hu[0], guard), sliceStats(hu[1], guard))));
    expect(!v.ok && v.reason).toMatch(/^outside the model's domain: bone/);
  });

  it('declared units that are not HU refuse before any pixel is looked at', async () => {
    const p = guardedPixelPipeline(manifest.domain, { rescaleType: 'ML/100G/MIN' }, 0, async () => slice(true, 3), 1);
    expect(p.verdict()).toEqual({ ok: false, reason: "outside the model's domain: values are ML/100G/MIN, not HU (Rescale Type)" });
  });
});
