/**
 * The held-out generated cases committed beside each demo model (models/<name>/heldout.json):
 * lesions stored as sparse int16 deltas over the original stored pixels of a shared DICOM file,
 * so the exact evaluation images are rebuilt here from ../shared/data without copying it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { iou, type Rect } from '../../src/core/ai/processing.js';
import { readDicomSlice, type DicomSlice } from './runtime.js';

/** Same as HIT_IOU in models/common.py. */
export const MATCH_IOU = 0.1;

interface HeldoutFile {
  columns: number;
  rows: number;
  lesionFree: string[];
  cases: { file: string; lesions: { box: Rect }[]; deltas: { x: number; y: number; width: number; height: number; int16: string }[] }[];
}

export interface HeldoutCase {
  slice: DicomSlice;
  lesions: Rect[];
}

export function loadHeldout(modelDir: string, dicomRoot: string): { cases: HeldoutCase[]; lesionFree: (DicomSlice & { file: string })[] } {
  const h = JSON.parse(fs.readFileSync(path.join(modelDir, 'heldout.json'), 'utf8')) as HeldoutFile;
  const originals = new Map<string, DicomSlice>();
  const read = (f: string) => {
    let s = originals.get(f);
    if (!s) originals.set(f, (s = readDicomSlice(fs.readFileSync(path.join(dicomRoot, f)))));
    return s;
  };
  const cases = h.cases.map((c) => {
    const base = read(c.file);
    const px = base.pixelData as Int16Array | Uint16Array;
    const copy = px instanceof Int16Array ? Int16Array.from(px) : Uint16Array.from(px);
    for (const d of c.deltas) {
      const b = Buffer.from(d.int16, 'base64');
      const delta = new Int16Array(b.buffer, b.byteOffset, b.byteLength / 2);
      for (let y = 0; y < d.height; y++) for (let x = 0; x < d.width; x++) copy[(d.y + y) * base.columns + d.x + x] += delta[y * d.width + x];
    }
    return { slice: { ...base, pixelData: copy }, lesions: c.lesions.map((l) => l.box) };
  });
  return { cases, lesionFree: h.lesionFree.map((f) => ({ ...read(f), file: f })) };
}

/** Sensitivity and false positives per slice, counted exactly as models/common.py score_cases does. */
export function score(perCase: { predicted: Rect[]; truth: Rect[] }[]): { sensitivity: number; falsePositivesPerSlice: number; lesions: number } {
  let lesions = 0, hits = 0, fps = 0;
  for (const { predicted, truth } of perCase) {
    lesions += truth.length;
    hits += truth.filter((t) => predicted.some((p) => iou(p, t) >= MATCH_IOU)).length;
    fps += predicted.filter((p) => !truth.some((t) => iou(p, t) >= MATCH_IOU)).length;
  }
  return { sensitivity: lesions ? hits / lesions : 1, falsePositivesPerSlice: fps / Math.max(1, perCase.length), lesions };
}

/**
 * Reliability curve and expected calibration error, binned exactly as models/common.py reliability()
 * does: equal-width score bins; ECE = sum over bins of |observed - mean score| × the bin's share.
 */
export function reliability(outcomes: { score: number; hit: boolean }[], nBins = 10): { bins: { from: number; to: number; count: number; meanScore: number; observed: number }[]; ece: number } {
  const bins: { from: number; to: number; count: number; meanScore: number; observed: number }[] = [];
  let ece = 0;
  for (let k = 0; k < nBins; k++) {
    const lo = k / nBins, hi = (k + 1) / nBins;
    const sel = outcomes.filter((o) => o.score >= lo && (k < nBins - 1 ? o.score < hi : o.score <= hi));
    if (!sel.length) continue;
    const conf = sel.reduce((s, o) => s + o.score, 0) / sel.length;
    const obs = sel.filter((o) => o.hit).length / sel.length;
    ece += (sel.length / outcomes.length) * Math.abs(obs - conf);
    bins.push({ from: lo, to: hi, count: sel.length, meanScore: conf, observed: obs });
  }
  return { bins, ece };
}

/** Each predicted box with its score and whether it hits a true lesion (the unit calibration is measured on). */
export function outcomes(perCase: { predicted: (Rect & { score: number })[]; truth: Rect[] }[]): { score: number; hit: boolean }[] {
  return perCase.flatMap(({ predicted, truth }) => predicted.map((p) => ({ score: p.score, hit: truth.some((t) => iou(p, t) >= MATCH_IOU) })));
}
