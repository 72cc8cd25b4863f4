/**
 * Node runtime for the demo models: the same model file and the same pre/post-processing
 * (src/core/ai) as the browser worker, through onnxruntime-web's WASM backend (no native
 * binaries, no post-install download). The pre-read calls inferStudy() from its worker pool.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import * as ort from 'onnxruntime-web';
// @ts-ignore dcmjs has no type declarations
import * as dcmjsNs from 'dcmjs';
import { parseManifest, type ModelManifest } from '../../src/core/ai/manifest.js';
import { eligibility } from '../../src/core/ai/eligibility.js';
import { studyFacts, type SeriesFacts } from '../../src/core/study/facts.js';
import type { DicomJson } from '../../src/core/imaging/dicomJson.js';
import { decodeSlice, preprocess, type SliceInput } from '../../src/core/ai/processing.js';
import { toFindings, type SliceResult } from '../../src/core/ai/to-findings.js';
import type { Finding } from '../../src/core/findings/finding.js';

export interface NodeSlice extends SliceInput {
  sopInstanceUID: string;
  seriesInstanceUID: string;
  sopClassUID?: string;
  frameNumber?: number;
}

export interface LoadedModel {
  dir: string;
  manifest: ModelManifest;
  session: ort.InferenceSession;
  provider: string;
  sessionMs: number;
}

export interface InferTimings {
  sessionMs: number;
  preprocessMs: number;
  inferenceMs: number;
  postprocessMs: number;
  totalMs: number;
  slices: number;
  perSliceMs: number;
}

export class ModelError extends Error {
  constructor(
    readonly code: 'manifest-invalid' | 'model-missing' | 'model-corrupt' | 'wrong-shape' | 'outside-indication',
    message: string,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

export function readManifest(dir: string): ModelManifest {
  const file = path.join(dir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelError('manifest-invalid', `${file}: ${(e as Error).message}`);
  }
  const r = parseManifest(raw);
  if (!r.ok) throw new ModelError('manifest-invalid', `${file}: ${r.errors.join('; ')}`);
  return r.value;
}

let threadsSet = false;
function configureOrt(numThreads?: number): void {
  // numThreads is global and fixed once the WASM module is instantiated.
  if (threadsSet) return;
  ort.env.wasm.numThreads = numThreads ?? 1;
  ort.env.logLevel = 'error';
  threadsSet = true;
}

const cache = new Map<string, Promise<LoadedModel>>();

/** Load (once per folder) a model: manifest validated, file checksum checked, input/output names checked. */
export function loadModel(dir: string, opts: { numThreads?: number; noCache?: boolean } = {}): Promise<LoadedModel> {
  const key = path.resolve(dir);
  if (!opts.noCache) {
    const hit = cache.get(key);
    if (hit) return hit;
  }
  const p = (async () => {
    const manifest = readManifest(key);
    const file = path.join(key, manifest.files.model);
    if (!fs.existsSync(file)) throw new ModelError('model-missing', `model file missing: ${file}`);
    const bytes = fs.readFileSync(file);
    if (manifest.files.sha256) {
      const sha = crypto.createHash('sha256').update(bytes).digest('hex');
      if (sha !== manifest.files.sha256) throw new ModelError('model-corrupt', `model file ${file} does not match the manifest's sha256`);
    }
    configureOrt(opts.numThreads);
    const t0 = performance.now();
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    } catch (e) {
      throw new ModelError('model-corrupt', `cannot load ${file}: ${(e as Error).message}`);
    }
    const sessionMs = performance.now() - t0;
    if (!session.inputNames.includes(manifest.input.name) || !session.outputNames.includes(manifest.output.name)) {
      throw new ModelError(
        'wrong-shape',
        `model ${manifest.name}: graph has inputs [${session.inputNames}] outputs [${session.outputNames}], manifest expects ${manifest.input.name} → ${manifest.output.name}`,
      );
    }
    return { dir: key, manifest, session, provider: 'wasm', sessionMs };
  })();
  if (!opts.noCache) {
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** Run a loaded model slice by slice; returns boxes per slice in image pixel coordinates. */
export async function runModelOnSlices(
  model: LoadedModel,
  slices: NodeSlice[],
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ results: SliceResult[]; timings: Omit<InferTimings, 'sessionMs' | 'totalMs'> }> {
  const { manifest, session } = model;
  const { input } = manifest;
  let preprocessMs = 0, inferenceMs = 0, postprocessMs = 0;
  const results: SliceResult[] = [];
  for (const [i, s] of slices.entries()) {
    if (opts.signal?.aborted) throw new Error('inference cancelled');
    let t = performance.now();
    const data = preprocess(s, input);
    const tensor = new ort.Tensor('float32', data, [1, input.channels, input.height, input.width]);
    preprocessMs += performance.now() - t;
    t = performance.now();
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run({ [input.name]: tensor });
    } catch (e) {
      throw new ModelError('wrong-shape', `model ${manifest.name} failed on slice ${i + 1}: ${(e as Error).message}`);
    }
    inferenceMs += performance.now() - t;
    t = performance.now();
    const heat = out[manifest.output.name] as ort.Tensor;
    const detections = decodeSlice(heat.data as Float32Array, manifest, { columns: s.columns, rows: s.rows });
    tensor.dispose();
    heat.dispose();
    results.push({
      image: { seriesInstanceUID: s.seriesInstanceUID, sopInstanceUID: s.sopInstanceUID, sopClassUID: s.sopClassUID, frameNumber: s.frameNumber },
      columns: s.columns,
      rows: s.rows,
      detections,
    });
    postprocessMs += performance.now() - t;
    opts.onProgress?.(i + 1, slices.length);
  }
  const n = Math.max(1, slices.length);
  return {
    results,
    timings: { preprocessMs, inferenceMs, postprocessMs, slices: slices.length, perSliceMs: (preprocessMs + inferenceMs + postprocessMs) / n },
  };
}

export interface InferStudyInput {
  /** The model's folder (models/<name>). */
  manifestDir: string;
  studyInstanceUID: string;
  /** In stack (anatomical) order. */
  slices: NodeSlice[];
  /** When given, the one eligibility rule (src/core/ai/eligibility.ts) is checked first: a series outside it is refused with the reason. */
  facts?: SeriesFacts;
  source?: 'preread' | 'client';
  numThreads?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export async function inferStudy(inp: InferStudyInput): Promise<{ findings: Finding[]; provider: string; timings: InferTimings; model: { name: string; version: string } }> {
  const t0 = performance.now();
  const cached = cache.has(path.resolve(inp.manifestDir));
  const model = await loadModel(inp.manifestDir, { numThreads: inp.numThreads });
  if (inp.facts) {
    const ind = eligibility(model.manifest, inp.facts);
    if (!ind.ok) throw new ModelError('outside-indication', ind.reason);
  }
  const { results, timings } = await runModelOnSlices(model, inp.slices, { signal: inp.signal, onProgress: inp.onProgress });
  const all: InferTimings = { ...timings, sessionMs: cached ? 0 : model.sessionMs, totalMs: performance.now() - t0 };
  const findings = toFindings({
    manifest: model.manifest,
    studyInstanceUID: inp.studyInstanceUID,
    slices: results,
    provider: model.provider,
    timingsMs: { sessionMs: round(all.sessionMs), inferenceMs: round(all.inferenceMs), totalMs: round(all.totalMs), perSliceMs: round(all.perSliceMs) },
    source: inp.source ?? 'preread',
    createdAt: new Date().toISOString(),
  });
  return { findings, provider: model.provider, timings: all, model: { name: model.manifest.name, version: model.manifest.version } };
}

const round = (v: number) => Math.round(v * 100) / 100;

// ---- DICOM (Part 10, uncompressed) → NodeSlice -------------------------------------------------

interface Dcmjs {
  data: {
    DicomMessage: { readFile(buf: ArrayBuffer, opts?: object): { dict: DicomJson } };
    DicomMetaDictionary: { naturalizeDataset(dict: object): Record<string, unknown> };
  };
}
const ns = dcmjsNs as unknown as Dcmjs & { default?: Dcmjs };
const dcmjs: Dcmjs = ns.data ? ns : (ns.default as Dcmjs);

export interface DicomSlice extends NodeSlice {
  studyInstanceUID: string;
  /** THE study facts (src/core/study/facts.ts) of this file's header: what the eligibility rule reads. */
  facts: SeriesFacts;
  imagePositionZ: number | null;
}

const num = (v: unknown, d: number): number => {
  const x = Array.isArray(v) ? v[0] : v;
  const n = typeof x === 'string' ? Number(x) : (x as number);
  return typeof n === 'number' && Number.isFinite(n) ? n : d;
};

/** Parse an uncompressed single-frame greyscale DICOM file into a slice the runtime can run on. */
export function readDicomSlice(bytes: Uint8Array): DicomSlice {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const dict = dcmjs.data.DicomMessage.readFile(ab).dict;
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict);
  const rows = num(ds.Rows, 0);
  const columns = num(ds.Columns, 0);
  const bits = num(ds.BitsAllocated, 16);
  const signed = num(ds.PixelRepresentation, 0) === 1;
  const frames = ds.PixelData as ArrayBuffer[] | undefined;
  if (!frames?.length || !rows || !columns) throw new Error('DICOM file has no pixel data, Rows or Columns');
  if (num(ds.SamplesPerPixel, 1) !== 1) throw new Error('only greyscale images (SamplesPerPixel 1) are supported');
  const buf = frames[0];
  const n = rows * columns;
  const pixelData = bits === 16 ? (signed ? new Int16Array(buf, 0, n) : new Uint16Array(buf, 0, n)) : bits === 8 ? new Uint8Array(buf, 0, n) : null;
  if (!pixelData) throw new Error(`BitsAllocated ${bits} not supported`);
  const ipp = ds.ImagePositionPatient as number[] | undefined;
  return {
    rows,
    columns,
    pixelData,
    slope: num(ds.RescaleSlope, 1),
    intercept: num(ds.RescaleIntercept, 0),
    photometricInterpretation: String(ds.PhotometricInterpretation ?? 'MONOCHROME2'),
    sopInstanceUID: String(ds.SOPInstanceUID),
    seriesInstanceUID: String(ds.SeriesInstanceUID),
    sopClassUID: ds.SOPClassUID ? String(ds.SOPClassUID) : undefined,
    studyInstanceUID: String(ds.StudyInstanceUID),
    facts: studyFacts(dict),
    imagePositionZ: Array.isArray(ipp) && ipp.length === 3 ? Number(ipp[2]) : null,
  };
}
