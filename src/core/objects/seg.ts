/**
 * DICOM Segmentation (PS3.3 A.51) read for display, pure: the segments (label, recommended colour,
 * algorithm) and, per frame, which segment it carries, which source image it was derived from (when it
 * says) and its plane (for SEGs that reference only the Frame of Reference). Pixel values are unpacked
 * on demand per frame: BINARY is 1 bit per pixel packed LSB first with frames running on without byte
 * alignment; FRACTIONAL is 8 bits scaled by Maximum Fractional Value.
 */
import type { Dataset } from '../sr/dicom.js';
import { codeOf, items } from '../sr/reader.js';
import { str } from './summary.js';
import { framePlane, frameSpacing, type ImagePlane } from './geometry.js';

export interface Segment {
  number: number;
  label: string;
  /** sRGB 0–255 from the Recommended Display CIELab Value (a fixed palette colour when absent). */
  colour: [number, number, number];
  algorithmType?: string;
  algorithmName?: string;
  property?: string;
}

export interface SegFrame {
  index: number;
  segment: number;
  sourceSopInstanceUID?: string;
  sourceFrame?: number;
  plane: ImagePlane | null;
  spacing: number;
}

export interface ParsedSeg {
  rows: number;
  columns: number;
  type: 'BINARY' | 'FRACTIONAL';
  maxFractional: number;
  segments: Segment[];
  frames: SegFrame[];
  frameOfReferenceUID?: string;
  pixels: Uint8Array;
}

/**
 * DICOM CIELab (PS3.3 C.10.7.1.1: L* 0..100 and a*, b* −128..127 scaled to 0..65535) → sRGB, through
 * XYZ with the D65 white point and the sRGB transfer curve.
 */
export function dicomLabToRgb(lab: readonly number[]): [number, number, number] {
  const L = (lab[0] * 100) / 65535, a = (lab[1] * 255) / 65535 - 128, b = (lab[2] * 255) / 65535 - 128;
  const fy = (L + 16) / 116, fx = fy + a / 500, fz = fy - b / 200;
  const inv = (t: number) => (t > 6 / 29 ? t ** 3 : 3 * (6 / 29) ** 2 * (t - 4 / 29));
  const X = 0.950456 * inv(fx), Y = inv(fy), Z = 1.088754 * inv(fz);
  const lin = [3.2404542 * X - 1.5371385 * Y - 0.4985314 * Z, -0.969266 * X + 1.8760108 * Y + 0.041556 * Z, 0.0556434 * X - 0.2040259 * Y + 1.0572252 * Z];
  const g = (c: number) => Math.round(255 * Math.min(1, Math.max(0, c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055)));
  return [g(lin[0]), g(lin[1]), g(lin[2])];
}

const PALETTE: [number, number, number][] = [[255, 80, 80], [80, 200, 255], [120, 230, 90], [255, 190, 40], [200, 110, 255], [255, 120, 200]];

function pixelBytes(v: unknown): Uint8Array {
  const parts = Array.isArray(v) ? v : v ? [v] : [];
  const bufs = parts.map((p) => (p instanceof ArrayBuffer ? new Uint8Array(p) : ArrayBuffer.isView(p) ? new Uint8Array(p.buffer, p.byteOffset, p.byteLength) : new Uint8Array()));
  if (bufs.length === 1) return bufs[0];
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bufs) { out.set(b, o); o += b.length; }
  return out;
}

export function parseSeg(ds: Dataset): ParsedSeg {
  const rows = Number(ds.Rows), columns = Number(ds.Columns);
  const nFrames = Number(ds.NumberOfFrames ?? 1) || 1;
  const type = str(ds.SegmentationType)?.toUpperCase() === 'FRACTIONAL' ? 'FRACTIONAL' : 'BINARY';
  const segments: Segment[] = items(ds.SegmentSequence).map((s, i) => {
    const lab = Array.isArray(s.RecommendedDisplayCIELabValue) ? (s.RecommendedDisplayCIELabValue as unknown[]).map(Number) : [];
    const number = Number(s.SegmentNumber ?? i + 1);
    return {
      number,
      label: str(s.SegmentLabel) ?? codeOf(s.SegmentedPropertyTypeCodeSequence)?.meaning ?? `Segment ${number}`,
      colour: lab.length === 3 && lab.every(Number.isFinite) ? dicomLabToRgb(lab) : PALETTE[i % PALETTE.length],
      algorithmType: str(s.SegmentAlgorithmType),
      algorithmName: str(s.SegmentAlgorithmName),
      property: codeOf(s.SegmentedPropertyTypeCodeSequence)?.meaning,
    };
  });
  const per = items(ds.PerFrameFunctionalGroupsSequence);
  const frames: SegFrame[] = [];
  for (let i = 0; i < nFrames; i++) {
    const f = per[i] ?? {};
    const segNo = Number(items(f.SegmentIdentificationSequence)[0]?.ReferencedSegmentNumber ?? (segments.length === 1 ? segments[0].number : NaN));
    const src = items(f.DerivationImageSequence).flatMap((d) => items(d.SourceImageSequence))[0];
    const srcFrame = src ? Number(src.ReferencedFrameNumber) : NaN;
    frames.push({
      index: i,
      segment: segNo,
      sourceSopInstanceUID: src ? str(src.ReferencedSOPInstanceUID) : undefined,
      ...(Number.isInteger(srcFrame) && srcFrame >= 1 ? { sourceFrame: srcFrame } : {}),
      plane: framePlane(ds, i),
      spacing: frameSpacing(ds, i),
    });
  }
  return {
    rows,
    columns,
    type,
    maxFractional: Number(ds.MaximumFractionalValue ?? 255) || 255,
    segments,
    frames,
    frameOfReferenceUID: str(ds.FrameOfReferenceUID),
    pixels: pixelBytes(ds.PixelData),
  };
}

/** One frame's values, 0..1 per pixel (BINARY: 0 or 1; FRACTIONAL: value / Maximum Fractional Value). */
export function frameValues(seg: ParsedSeg, index: number): Float32Array {
  const n = seg.rows * seg.columns;
  const out = new Float32Array(n);
  if (seg.type === 'BINARY') {
    const base = index * n;
    for (let k = 0; k < n; k++) {
      const bit = base + k;
      out[k] = (seg.pixels[bit >> 3] >> (bit & 7)) & 1;
    }
  } else {
    const base = index * n;
    for (let k = 0; k < n; k++) out[k] = (seg.pixels[base + k] ?? 0) / seg.maxFractional;
  }
  return out;
}

/** RGBA for one frame in its segment's colour; alpha = value × opacity (0 where the segment is absent). */
export function frameRGBA(values: Float32Array, colour: readonly [number, number, number], opacity: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(values.length * 4);
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (!v) continue;
    out[k * 4] = colour[0];
    out[k * 4 + 1] = colour[1];
    out[k * 4 + 2] = colour[2];
    out[k * 4 + 3] = Math.round(255 * Math.min(1, Math.max(0, opacity * v)));
  }
  return out;
}
