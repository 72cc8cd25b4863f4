/**
 * Parametric maps (PS3.3 A.75) read for display, pure: float (or double, or integer with a real-world
 * value mapping) values per frame, each frame's plane and source image, the value range and unit.
 */
import type { Dataset } from '../sr/dicom.js';
import { codeOf, items } from '../sr/reader.js';
import { str } from './summary.js';
import { framePlane, frameSpacing, type ImagePlane } from './geometry.js';

export interface PmapFrame {
  index: number;
  sourceSopInstanceUID?: string;
  plane: ImagePlane | null;
  spacing: number;
}

export interface ParsedPmap {
  rows: number;
  columns: number;
  values: Float32Array | Float64Array;
  frames: PmapFrame[];
  min: number;
  max: number;
  unit?: string;
  label?: string;
}

function buffers(v: unknown): ArrayBuffer[] {
  const parts = Array.isArray(v) ? v : v ? [v] : [];
  return parts.map((p) => (p instanceof ArrayBuffer ? p : ArrayBuffer.isView(p) ? (p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength) as ArrayBuffer) : new ArrayBuffer(0)));
}

function concat(bufs: ArrayBuffer[]): ArrayBuffer {
  if (bufs.length === 1) return bufs[0];
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.byteLength, 0));
  let o = 0;
  for (const b of bufs) { out.set(new Uint8Array(b), o); o += b.byteLength; }
  return out.buffer;
}

export function parsePmap(ds: Dataset): ParsedPmap {
  const rows = Number(ds.Rows), columns = Number(ds.Columns);
  const n = Number(ds.NumberOfFrames ?? 1) || 1;
  let values: Float32Array | Float64Array;
  if (ds.FloatPixelData) values = new Float32Array(concat(buffers(ds.FloatPixelData)));
  else if (ds.DoubleFloatPixelData) values = new Float64Array(concat(buffers(ds.DoubleFloatPixelData)));
  else {
    // Integer pixels: the real-world value mapping (slope, intercept) gives the quantity.
    const raw = concat(buffers(ds.PixelData));
    const ints = Number(ds.BitsAllocated) === 8 ? new Uint8Array(raw) : Number(ds.PixelRepresentation) === 1 ? new Int16Array(raw) : new Uint16Array(raw);
    const shared = items(ds.SharedFunctionalGroupsSequence)[0] ?? {};
    const rwv = items(shared.RealWorldValueMappingSequence)[0] ?? {};
    const slope = Number(rwv.RealWorldValueSlope ?? 1), icpt = Number(rwv.RealWorldValueIntercept ?? 0);
    values = Float32Array.from(ints, (v) => v * slope + icpt);
  }
  const per = items(ds.PerFrameFunctionalGroupsSequence);
  const topSource = items(ds.SourceImageSequence);
  const frames: PmapFrame[] = Array.from({ length: n }, (_, i) => {
    const src = items(per[i]?.DerivationImageSequence).flatMap((d) => items(d.SourceImageSequence))[0] ?? (n === 1 ? topSource[0] : undefined);
    return { index: i, sourceSopInstanceUID: src ? str(src.ReferencedSOPInstanceUID) : undefined, plane: framePlane(ds, i), spacing: frameSpacing(ds, i) };
  });
  let min = Infinity, max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min)) { min = 0; max = 1; }
  const shared = items(ds.SharedFunctionalGroupsSequence)[0] ?? {};
  const rwv = items(shared.RealWorldValueMappingSequence)[0] ?? {};
  return { rows, columns, values, frames, min, max, unit: codeOf(rwv.MeasurementUnitsCodeSequence)?.meaning, label: str(rwv.LUTExplanation) ?? str(ds.ContentLabel) };
}

/**
 * RGBA for one frame: values at or above the threshold in the colour map (min → max over the map's
 * range), below it transparent, so the reader sees where the quantity exceeds what they chose.
 */
export function pmapRGBA(p: ParsedPmap, index: number, threshold: number, opacity: number, colour: (t: number) => [number, number, number]): Uint8ClampedArray {
  const n = p.rows * p.columns;
  const out = new Uint8ClampedArray(n * 4);
  const span = p.max - p.min || 1;
  const a = Math.round(255 * Math.min(1, Math.max(0, opacity)));
  for (let k = 0; k < n; k++) {
    const v = p.values[index * n + k];
    if (!(v >= threshold)) continue;
    const [r, g, b] = colour((v - p.min) / span);
    out[k * 4] = r;
    out[k * 4 + 1] = g;
    out[k * 4 + 2] = b;
    out[k * 4 + 3] = a;
  }
  return out;
}
