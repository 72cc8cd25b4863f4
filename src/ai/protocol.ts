/** Messages between the viewer and the AI worker (src/ai/worker.ts). */
import type { ModelManifest } from '../core/ai/manifest';
import type { SliceDetection } from '../core/ai/processing';

export type Provider = 'webgpu' | 'wasm';

export type AiErrorCode = 'model-missing' | 'model-corrupt' | 'wrong-shape' | 'oom' | 'device-lost' | 'runtime-failed' | 'inference-failed';

export interface InitRequest {
  type: 'init';
  manifest: ModelManifest;
  modelUrl: string;
  provider: Provider;
  /** Where /ort/ort.*.min.mjs and the .wasm files are served (our own server). */
  ortBase: string;
  numThreads: number;
  /** Use a software (fallback) WebGPU adapter: only when asked, it is ~100× slower than WASM. */
  allowFallbackAdapter: boolean;
  /** Test hook: an artificially slow model (ms added per slice). */
  slowMsPerSlice?: number;
}

export interface SliceRequest {
  type: 'slice';
  runId: number;
  index: number;
  rows: number;
  columns: number;
  pixelData: Int16Array | Uint16Array | Float32Array | Uint8Array | Int8Array | Uint32Array | Int32Array;
  slope: number;
  intercept: number;
  photometricInterpretation?: string;
}

/** Load onnxruntime and start its WebAssembly backend, before the model is known (no session yet). */
export type RuntimeRequest = { type: 'runtime' } & Pick<InitRequest, 'provider' | 'ortBase' | 'numThreads' | 'allowFallbackAdapter'>;

/** Run the graph on a ready-made input tensor (1×C×H×W), returning the raw output: for parity tests. */
export interface TensorRequest {
  type: 'tensor';
  id: number;
  data: Float32Array;
}

export type WorkerRequest = RuntimeRequest | InitRequest | SliceRequest | TensorRequest;

export type WorkerResponse =
  | { type: 'ready'; provider: Provider; sessionMs: number; numThreads: number; crossOriginIsolated: boolean; adapter?: string; phases?: Record<string, number> }
  | { type: 'runtime-ready'; ms: number; phases: Record<string, number> }
  | { type: 'slice'; runId: number; index: number; detections: SliceDetection[]; ms: { preprocess: number; inference: number; postprocess: number } }
  | { type: 'tensor'; id: number; data: Float32Array; ms: number }
  | { type: 'error'; code: AiErrorCode; message: string; runId?: number; index?: number; id?: number };
