/**
 * Pre- and post-processing shared by the browser worker and the Node pre-read: the same
 * numbers go into the model and come out as the same boxes wherever it runs. Pure and
 * isomorphic (no Node, no DOM). The Python training script (models/<name>/train.py)
 * mirrors preprocess() exactly; change both together.
 */
import type { ModelManifest, Normalisation } from './manifest.js';

/** One image as the runtime sees it: stored values plus what is needed to interpret them. */
export interface SliceInput {
  rows: number;
  columns: number;
  /** Stored pixel values, row-major (Int16Array, Uint16Array, Float32Array...). */
  pixelData: ArrayLike<number>;
  slope?: number;
  intercept?: number;
  photometricInterpretation?: string;
}

/** Modality LUT: stored value × slope + intercept (e.g. HU for CT). */
export function modalityLut(pixels: ArrayLike<number>, slope = 1, intercept = 0): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] * slope + intercept;
  return out;
}

/** Linear window (centre/width) to [0, 1], clipped. */
export function applyWindow(values: ArrayLike<number>, center: number, width: number): Float32Array {
  const lo = center - width / 2;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = (values[i] - lo) / width;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}

/** Per-image min/max to [0, 1]; a flat image gives all zeros. */
export function minMax(values: ArrayLike<number>, invert = false): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  const out = new Float32Array(values.length);
  const span = hi - lo;
  if (!(span > 0)) return out;
  for (let i = 0; i < values.length; i++) {
    const v = (values[i] - lo) / span;
    out[i] = invert ? 1 - v : v;
  }
  return out;
}

/**
 * Bilinear resampling with pixel centres aligned (PyTorch `interpolate(mode='bilinear',
 * align_corners=False, antialias=False)`): destination pixel i samples source coordinate
 * (i + 0.5) * srcW / dstW - 0.5, clamped at the borders. Matching torch exactly is what
 * lets the trained model see in deployment what it saw in training.
 */
export function resampleBilinear(src: ArrayLike<number>, srcW: number, srcH: number, dstW: number, dstH: number): Float32Array {
  if (src.length !== srcW * srcH) throw new Error(`resample: ${src.length} values for ${srcW}×${srcH}`);
  const out = new Float32Array(dstW * dstH);
  const sx = srcW / dstW;
  const sy = srcH / dstH;
  const x0s = new Int32Array(dstW);
  const x1s = new Int32Array(dstW);
  const fxs = new Float32Array(dstW);
  for (let x = 0; x < dstW; x++) {
    let fx = (x + 0.5) * sx - 0.5;
    if (fx < 0) fx = 0;
    const x0 = Math.min(Math.floor(fx), srcW - 1);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, srcW - 1);
    fxs[x] = fx - x0;
  }
  for (let y = 0; y < dstH; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    const y0 = Math.min(Math.floor(fy), srcH - 1);
    const y1 = Math.min(y0 + 1, srcH - 1);
    const wy = fy - y0;
    const r0 = y0 * srcW;
    const r1 = y1 * srcW;
    for (let x = 0; x < dstW; x++) {
      const a = src[r0 + x0s[x]];
      const b = src[r0 + x1s[x]];
      const c = src[r1 + x0s[x]];
      const d = src[r1 + x1s[x]];
      const wx = fxs[x];
      const top = a + (b - a) * wx;
      const bot = c + (d - c) * wx;
      out[y * dstW + x] = top + (bot - top) * wy;
    }
  }
  return out;
}

/**
 * modalityLut then applyWindow or minMax, in one buffer: the same float32 values bit for bit
 * (the LUT's result is rounded to float32 exactly where modalityLut stores it), without a second
 * full-size array per slice. This runs once per slice on every study, so it is worth the fusion.
 */
export function normalise(slice: SliceInput, n: Normalisation): Float32Array {
  const px = slice.pixelData;
  const slope = slice.slope ?? 1;
  const intercept = slice.intercept ?? 0;
  const len = px.length;
  const out = new Float32Array(len);
  if (n.kind === 'window') {
    const lo = n.center - n.width / 2;
    const width = n.width;
    for (let i = 0; i < len; i++) {
      const v = (Math.fround(px[i] * slope + intercept) - lo) / width;
      out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    return out;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < len; i++) {
    const v = (out[i] = px[i] * slope + intercept);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  // Compared as stored (float32), like minMax on modalityLut's output.
  lo = Math.fround(lo);
  hi = Math.fround(hi);
  const span = hi - lo;
  if (!(span > 0)) return out.fill(0);
  const invert = (slice.photometricInterpretation ?? '').toUpperCase() === 'MONOCHROME1';
  for (let i = 0; i < len; i++) {
    const v = (out[i] - lo) / span;
    out[i] = invert ? 1 - v : v;
  }
  return out;
}

/** Stored pixels → the model's input tensor data (1 × C × H × W, C = 1). */
export function preprocess(slice: SliceInput, input: ModelManifest['input']): Float32Array {
  if (slice.pixelData.length !== slice.rows * slice.columns) {
    throw new Error(`pixel data has ${slice.pixelData.length} values, expected rows × columns = ${slice.rows * slice.columns}`);
  }
  const norm = normalise(slice, input.normalisation);
  return resampleBilinear(norm, slice.columns, slice.rows, input.width, input.height);
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** A box on the heatmap grid, in cell units: covers cells x .. x+width-1 and y .. y+height-1. */
export interface GridBox {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Peak probability in the component. */
  score: number;
  /** Cells in the component. */
  area: number;
}

/**
 * Threshold + connected components (4- or 8-connected), one box per component.
 * Iterative flood fill with an explicit stack: a big component must not blow the call stack.
 */
export function heatmapToBoxes(
  heat: ArrayLike<number>,
  width: number,
  height: number,
  threshold: number,
  opts: { connectivity?: 4 | 8; minAreaCells?: number } = {},
): GridBox[] {
  if (heat.length !== width * height) throw new Error(`heatmap has ${heat.length} values for ${width}×${height}`);
  const conn = opts.connectivity ?? 8;
  const minArea = opts.minAreaCells ?? 1;
  const label = new Int32Array(width * height);
  const stack = new Int32Array(width * height);
  const boxes: GridBox[] = [];
  let next = 0;
  for (let start = 0; start < heat.length; start++) {
    if (label[start] !== 0 || !(heat[start] >= threshold)) continue;
    next++;
    let sp = 0;
    stack[sp++] = start;
    label[start] = next;
    let minX = width, minY = height, maxX = -1, maxY = -1, area = 0, score = 0;
    while (sp > 0) {
      const p = stack[--sp];
      const px = p % width;
      const py = (p - px) / width;
      area++;
      if (heat[p] > score) score = heat[p];
      if (px < minX) minX = px;
      if (px > maxX) maxX = px;
      if (py < minY) minY = py;
      if (py > maxY) maxY = py;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = py + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if (dx === 0 && dy === 0) continue;
          if (conn === 4 && dx !== 0 && dy !== 0) continue;
          const nx = px + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (label[q] === 0 && heat[q] >= threshold) {
            label[q] = next;
            stack[sp++] = q;
          }
        }
      }
    }
    if (area >= minArea) boxes.push({ x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1, score, area });
  }
  return boxes;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function iou(a: Rect, b: Rect): number {
  const ix = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy non-maximum suppression: highest score first, drop boxes overlapping a kept one by more than iouThreshold. */
export function nms<T extends Rect & { score: number }>(boxes: T[], iouThreshold: number): T[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const b of sorted) if (kept.every((k) => iou(k, b) <= iouThreshold)) kept.push(b);
  return kept;
}

/**
 * Grid box → image pixel box. The heatmap covers the image's full extent (see HeatmapSchema),
 * so cell i spans image columns [i·columns/width, (i+1)·columns/width): box edges scale exactly.
 */
export function gridBoxToImage(box: Rect, grid: { width: number; height: number }, image: { columns: number; rows: number }): Rect {
  const sx = image.columns / grid.width;
  const sy = image.rows / grid.height;
  return { x: box.x * sx, y: box.y * sy, width: box.width * sx, height: box.height * sy };
}

/** Image pixel box → grid box (fractional cells): the inverse of gridBoxToImage. */
export function imageBoxToGrid(box: Rect, grid: { width: number; height: number }, image: { columns: number; rows: number }): Rect {
  const sx = grid.width / image.columns;
  const sy = grid.height / image.rows;
  return { x: box.x * sx, y: box.y * sy, width: box.width * sx, height: box.height * sy };
}

/** Output tensor of one slice → probability per cell for each class channel (logits pass through a sigmoid). */
export function outputToProbabilities(data: ArrayLike<number>, output: ModelManifest['output']): Float32Array[] {
  const cells = output.width * output.height;
  const channels = Math.max(...output.classes.map((c) => c.index)) + 1;
  if (data.length !== cells * channels) {
    throw new Error(`wrong output shape: ${data.length} values, the manifest expects ${channels}×${output.height}×${output.width}`);
  }
  const maps: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    const m = new Float32Array(cells);
    for (let i = 0; i < cells; i++) {
      const v = data[c * cells + i];
      m[i] = output.activation === 'logit' ? sigmoid(v) : v;
    }
    maps.push(m);
  }
  return maps;
}

/** A class's probability map over the whole slice, pooled to at most HEAT_CELLS per side (row-major). */
export interface SliceHeat {
  width: number;
  height: number;
  values: number[];
}

/** Cells per side of the explanation heatmap kept with a detection: 32×32 is ~1,000 values per slice. */
export const HEAT_CELLS = 32;

/**
 * Max-pools a probability map to at most `cells` per side (a peak is never averaged away), values
 * rounded to 3 decimals: the model's own output, small enough to travel with its finding.
 */
export function poolHeat(map: ArrayLike<number>, width: number, height: number, cells = HEAT_CELLS): SliceHeat {
  const f = Math.max(1, Math.ceil(Math.max(width, height) / cells));
  const w = Math.ceil(width / f);
  const h = Math.ceil(height / f);
  const values = new Array<number>(w * h).fill(0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = Math.floor(y / f) * w + Math.floor(x / f);
      const v = map[y * width + x];
      if (v > values[i]) values[i] = v;
    }
  }
  return { width: w, height: h, values: values.map((v) => Math.round(v * 1000) / 1000) };
}

export interface SliceDetection {
  classIndex: number;
  score: number;
  /** In image pixel coordinates. */
  box: Rect;
  gridBox: GridBox;
  /** The detection's class map on the whole slice (poolHeat): why the model said so, shown on demand. */
  heat?: SliceHeat;
}

/** Decode one slice's output into boxes in image pixel coordinates, per class threshold, after NMS. */
export function decodeSlice(data: ArrayLike<number>, manifest: Pick<ModelManifest, 'output'>, image: { columns: number; rows: number }): SliceDetection[] {
  const out = manifest.output;
  const maps = outputToProbabilities(data, out);
  const dets: SliceDetection[] = [];
  for (const cls of out.classes) {
    const boxes = heatmapToBoxes(maps[cls.index], out.width, out.height, cls.threshold, {
      connectivity: out.decoding.connectivity,
      minAreaCells: out.decoding.minAreaCells,
    });
    const kept = nms(boxes, out.decoding.nmsIou);
    const heat = kept.length ? poolHeat(maps[cls.index], out.width, out.height) : undefined;
    for (const gb of kept) {
      dets.push({ classIndex: cls.index, score: gb.score, gridBox: gb, box: gridBoxToImage(gb, out, image), ...(heat ? { heat } : {}) });
    }
  }
  return dets;
}
