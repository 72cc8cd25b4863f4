import { describe, expect, it } from 'vitest';
import {
  applyWindow, decodeSlice, gridBoxToImage, poolHeat, heatmapToBoxes, imageBoxToGrid, iou, minMax, modalityLut, nms, normalise, preprocess, resampleBilinear,
} from './processing.js';
import { parseManifest } from './manifest.js';
import { sampleManifest } from './test-fixtures.js';
import { toFindings } from './to-findings.js';

const manifest = (() => {
  const r = parseManifest(sampleManifest());
  if (!r.ok) throw new Error(r.errors.join());
  return r.value;
})();

describe('pre-processing', () => {
  it('applies the modality LUT and a clipped window', () => {
    expect(Array.from(modalityLut(Int16Array.from([0, 1024, 1064]), 1, -1024))).toEqual([-1024, 0, 40]);
    expect(Array.from(applyWindow([-1000, 0, 40, 80, 1000], 40, 80))).toEqual([0, 0, 0.5, 1, 1]);
  });
  it('min/max normalises and inverts MONOCHROME1', () => {
    expect(Array.from(minMax([10, 20, 30]))).toEqual([0, 0.5, 1]);
    expect(Array.from(minMax([10, 20, 30], true))).toEqual([1, 0.5, 0]);
    expect(Array.from(minMax([5, 5]))).toEqual([0, 0]);
  });
  it('the fused normalise gives modalityLut → window/minMax bit for bit', () => {
    // A deterministic pseudo-random image per stored type; slopes and intercepts that do not round trip through float32.
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
    const n = 4099;
    const images = [
      Int16Array.from({ length: n }, () => Math.round(rnd() * 4000 - 2000)),
      Uint16Array.from({ length: n }, () => Math.round(rnd() * 65535)),
      Float32Array.from({ length: n }, () => rnd() * 3000 - 1024.3),
      Uint8Array.from({ length: n }, () => Math.round(rnd() * 255)),
      new Int16Array(n).fill(7), // flat: min/max gives zeros
    ];
    for (const pixelData of images)
      for (const [slope, intercept] of [[1, -1024], [0.7, -1000.3], [1.1e-3, 0.1], [1, 0]])
        for (const pi of ['MONOCHROME2', 'MONOCHROME1']) {
          const slice = { rows: 1, columns: n, pixelData, slope, intercept, photometricInterpretation: pi };
          const lut = modalityLut(pixelData, slope, intercept);
          expect(same(normalise(slice, { kind: 'window', center: 40, width: 80 }), applyWindow(lut, 40, 80))).toBe(true);
          expect(same(normalise(slice, { kind: 'window', center: -600.5, width: 1500.3 }), applyWindow(lut, -600.5, 1500.3))).toBe(true);
          expect(same(normalise(slice, { kind: 'minmax' }), minMax(lut, pi === 'MONOCHROME1'))).toBe(true);
        }
  });
  it('bilinear resampling matches torch align_corners=False', () => {
    // torch.nn.functional.interpolate(torch.tensor([[[[0.,1.],[2.,3.]]]]), size=(4,4), mode='bilinear', align_corners=False)
    const up = resampleBilinear([0, 1, 2, 3], 2, 2, 4, 4);
    expect(Array.from(up.slice(0, 4))).toEqual([0, 0.25, 0.75, 1]);
    expect(Array.from(up.slice(4, 8))).toEqual([0.5, 0.75, 1.25, 1.5]);
    // Down by 2: each output samples halfway between two inputs, i.e. the mean of a 2×2 block.
    const src = Float32Array.from({ length: 16 }, (_, i) => i);
    expect(Array.from(resampleBilinear(src, 4, 4, 2, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
  });
  it('preprocess checks the pixel count and produces the model grid', () => {
    expect(() => preprocess({ rows: 4, columns: 4, pixelData: new Int16Array(15) }, manifest.input)).toThrow(/expected rows × columns = 16/);
    const t = preprocess({ rows: 16, columns: 16, pixelData: new Int16Array(256).fill(40) }, manifest.input);
    expect(t.length).toBe(64);
    expect(t.every((v) => v === 0.5)).toBe(true);
  });
});

describe('heatmap → boxes', () => {
  it('finds connected components above threshold with their peak', () => {
    // 6×5 grid: one L-shaped blob (8-connected diagonal join) and one single cell.
    const w = 6, h = 5;
    const heat = new Float32Array(w * h);
    const set = (x: number, y: number, v: number) => (heat[y * w + x] = v);
    set(1, 1, 0.6); set(2, 1, 0.9); set(3, 2, 0.7); set(5, 4, 0.55); set(0, 4, 0.49);
    const b8 = heatmapToBoxes(heat, w, h, 0.5, { connectivity: 8 });
    expect(b8).toEqual([
      { x: 1, y: 1, width: 3, height: 2, score: expect.closeTo(0.9, 6), area: 3 },
      { x: 5, y: 4, width: 1, height: 1, score: expect.closeTo(0.55, 6), area: 1 },
    ]);
    expect(heatmapToBoxes(heat, w, h, 0.5, { connectivity: 4 })).toHaveLength(3);
    expect(heatmapToBoxes(heat, w, h, 0.5, { connectivity: 8, minAreaCells: 2 })).toHaveLength(1);
    expect(heatmapToBoxes(new Float32Array(w * h).fill(0.49), w, h, 0.5)).toEqual([]);
  });
  it('handles a component covering the whole grid without recursion', () => {
    const n = 512;
    const boxes = heatmapToBoxes(new Float32Array(n * n).fill(1), n, n, 0.5);
    expect(boxes).toEqual([{ x: 0, y: 0, width: n, height: n, score: 1, area: n * n }]);
  });
  it('NMS keeps the best of overlapping boxes', () => {
    const kept = nms([
      { x: 0, y: 0, width: 10, height: 10, score: 0.7 },
      { x: 1, y: 1, width: 10, height: 10, score: 0.9 },
      { x: 50, y: 50, width: 5, height: 5, score: 0.6 },
    ], 0.3);
    expect(kept.map((k) => k.score)).toEqual([0.9, 0.6]);
    expect(iou({ x: 0, y: 0, width: 2, height: 2 }, { x: 1, y: 0, width: 2, height: 2 })).toBeCloseTo(1 / 3);
  });
});

describe('boxes back to image pixels', () => {
  it('a known image box survives the round trip through the model grid within one pixel', () => {
    const image = { columns: 440, rows: 512 };
    const grid = { width: 128, height: 128 };
    const known = { x: 137, y: 203, width: 41, height: 29 };
    // Rasterise the box on the image, resample to the grid as the model would see it, decode, map back.
    const mask = new Float32Array(image.columns * image.rows);
    for (let y = known.y; y < known.y + known.height; y++) for (let x = known.x; x < known.x + known.width; x++) mask[y * image.columns + x] = 1;
    const onGrid = imageBoxToGrid(known, grid, image);
    const back = gridBoxToImage(onGrid, grid, image);
    for (const k of ['x', 'y', 'width', 'height'] as const) expect(Math.abs(back[k] - known[k])).toBeLessThan(1);
    // Through a heatmap: cells whose centre falls inside the box, then back to pixels.
    const heat = new Float32Array(grid.width * grid.height);
    for (let j = 0; j < grid.height; j++) for (let i = 0; i < grid.width; i++) {
      const cx = (i + 0.5) * image.columns / grid.width, cy = (j + 0.5) * image.rows / grid.height;
      if (cx >= known.x && cx < known.x + known.width && cy >= known.y && cy < known.y + known.height) heat[j * grid.width + i] = 0.9;
    }
    const [gb] = heatmapToBoxes(heat, grid.width, grid.height, 0.5);
    const img = gridBoxToImage(gb, grid, image);
    // Cell quantisation: edges move by at most one cell (440/128 = 3.4 px, 512/128 = 4 px).
    expect(Math.abs(img.x - known.x)).toBeLessThanOrEqual(image.columns / grid.width);
    expect(Math.abs(img.y + img.height - (known.y + known.height))).toBeLessThanOrEqual(image.rows / grid.height);
  });
});

describe('toFindings', () => {
  const heat = (cells: [number, number, number][]) => {
    const h = new Float32Array(16);
    for (const [x, y, v] of cells) h[y * 4 + x] = v;
    return h;
  };
  const img = (n: number) => ({ seriesInstanceUID: '1.2.3', sopInstanceUID: `1.2.3.${n}` });
  it('links overlapping boxes on adjacent slices into one finding, with model, provider and timings', () => {
    const slices = [
      heat([[1, 1, 0.7]]),
      heat([[1, 1, 0.95], [2, 1, 0.8]]),
      heat([]),
      heat([[3, 3, 0.6]]),
      heat([[0, 0, 0.3]]), // below threshold: never a finding
    ].map((h, i) => ({ image: img(i + 1), columns: 512, rows: 512, detections: decodeSlice(h, manifest, { columns: 512, rows: 512 }) }));
    const f = toFindings({ manifest, studyInstanceUID: '1.2.3', slices, provider: 'wasm', timingsMs: { inferenceMs: 12.5 }, source: 'client' });
    expect(f).toHaveLength(2);
    const [a, b] = f;
    expect(a.regions.map((r) => r.image.sopInstanceUID)).toEqual(['1.2.3.1', '1.2.3.2']);
    expect(a.regions[0].box).toEqual({ x: 128, y: 128, width: 128, height: 128 });
    expect(a.regions[1].box).toEqual({ x: 128, y: 128, width: 256, height: 128 });
    expect(a.extent).toEqual({ firstSopInstanceUID: '1.2.3.1', lastSopInstanceUID: '1.2.3.2' });
    expect(a.confidence).toBeCloseTo(0.95);
    expect(a.severity).toBe('critical');
    expect(a.type.value).toBe('1386000');
    expect(a.model).toMatchObject({ name: 'test-model', version: '1.0.0', executionProvider: 'wasm', timingsMs: { inferenceMs: 12.5 } });
    expect(b.regions).toHaveLength(1);
    expect(b.extent).toBeUndefined();
    // Stable ids: the same input gives the same findings (re-running a study updates, not duplicates).
    expect(toFindings({ manifest, studyInstanceUID: '1.2.3', slices, provider: 'webgpu', source: 'client' }).map((x) => x.id)).toEqual(f.map((x) => x.id));
    // Its explanation: the model's own class map on each slice of the finding, on that slice's image.
    expect(a.heatmaps!.map((h) => h.image.sopInstanceUID)).toEqual(['1.2.3.1', '1.2.3.2']);
    expect(a.heatmaps![1]).toMatchObject({ width: 4, height: 4, scale: { min: 0, max: 1, unit: 'probability' } });
    expect(a.heatmaps![1].values[1 * 4 + 1]).toBeCloseTo(0.95);
    expect(a.heatmaps![1].values[1 * 4 + 2]).toBeCloseTo(0.8);
  });
  it('poolHeat keeps peaks (max, not mean) and at most 32 cells a side', () => {
    const big = new Float32Array(128 * 128);
    big[5 * 128 + 6] = 0.9; // one hot cell
    const p = poolHeat(big, 128, 128);
    expect([p.width, p.height, p.values.length]).toEqual([32, 32, 1024]);
    expect(p.values[1 * 32 + 1]).toBe(0.9);
    expect(p.values.filter((v) => v > 0)).toHaveLength(1);
    expect(poolHeat(new Float32Array(16).fill(0.1234), 4, 4)).toEqual({ width: 4, height: 4, values: new Array(16).fill(0.123) });
  });
  it('rejects an output of the wrong shape with a clear message', () => {
    expect(() => decodeSlice(new Float32Array(15), manifest, { columns: 4, rows: 4 })).toThrow(/wrong output shape: 15 values, the manifest expects 1×4×4/);
  });
});
