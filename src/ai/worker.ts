/// <reference lib="webworker" />
/**
 * The AI worker: onnxruntime-web runs here and only here (the UI thread never runs inference).
 * onnxruntime is loaded from our own server (/ort/), one bundle per provider, so the viewer
 * bundle carries none of it and nothing comes from a CDN.
 */
import type * as Ort from 'onnxruntime-web';
import { preprocess, decodeSlice } from '../core/ai/processing';
import type { ModelManifest } from '../core/ai/manifest';
import type { AiErrorCode, InitRequest, Provider, WorkerRequest, WorkerResponse } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

let ort: typeof Ort | null = null;
let session: Ort.InferenceSession | null = null;
let manifest: ModelManifest | null = null;
let provider: Provider = 'wasm';
let slowMs = 0;
let fatal: { code: AiErrorCode; message: string } | null = null;

const post = (m: WorkerResponse, transfer: Transferable[] = []) => self.postMessage(m, transfer);

function classify(e: unknown, fallback: AiErrorCode): { code: AiErrorCode; message: string } {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof RangeError || /out of memory|memory access out of bounds|Cannot enlarge memory|Aborted\(OOM\)/i.test(message)) return { code: 'oom', message: `out of memory: ${message}` };
  if (/device (was )?lost|GPUDevice.*lost/i.test(message)) return { code: 'device-lost', message: `GPU device lost: ${message}` };
  return { code: fallback, message };
}

async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function init(req: InitRequest): Promise<void> {
  const t0 = performance.now();
  manifest = req.manifest;
  slowMs = req.slowMsPerSlice ?? 0;
  try {
    const file = req.provider === 'webgpu' ? 'ort.webgpu.min.mjs' : 'ort.wasm.min.mjs';
    ort = (await import(/* @vite-ignore */ new URL(req.ortBase + file, self.location.origin).href)) as typeof Ort;
  } catch (e) {
    throw Object.assign(new Error(`onnxruntime could not be loaded from ${req.ortBase}: ${(e as Error).message}`), { code: 'runtime-failed' });
  }
  ort.env.wasm.wasmPaths = new URL(req.ortBase, self.location.origin).href;
  ort.env.wasm.numThreads = req.numThreads;
  ort.env.wasm.proxy = false; // we are the worker already
  ort.env.logLevel = 'error';

  let adapterInfo: string | undefined;
  if (req.provider === 'webgpu') {
    const gpu = (self.navigator as Navigator & { gpu?: { requestAdapter(o?: object): Promise<GPUAdapterLike | null> } }).gpu;
    const adapter = await gpu?.requestAdapter();
    if (!adapter) throw Object.assign(new Error('no WebGPU adapter in the worker'), { code: 'runtime-failed' });
    const fallback = adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
    if (fallback && !req.allowFallbackAdapter) throw Object.assign(new Error('only a software (fallback) WebGPU adapter is available'), { code: 'runtime-failed' });
    adapterInfo = [adapter.info?.vendor, adapter.info?.architecture, fallback ? 'fallback' : ''].filter(Boolean).join(' ');
    (ort.env.webgpu as { adapter: unknown }).adapter = adapter;
  }

  const res = await fetch(req.modelUrl, { credentials: 'same-origin' });
  if (!res.ok) throw Object.assign(new Error(`model file missing: ${req.modelUrl} (HTTP ${res.status})`), { code: 'model-missing' });
  const bytes = await res.arrayBuffer();
  if (req.manifest.files.sha256 && (await sha256Hex(bytes)) !== req.manifest.files.sha256) {
    throw Object.assign(new Error(`model file corrupt: ${req.modelUrl} does not match the manifest's checksum`), { code: 'model-corrupt' });
  }
  try {
    session = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: [req.provider], graphOptimizationLevel: 'all' });
  } catch (e) {
    const c = classify(e, 'model-corrupt');
    throw Object.assign(new Error(`model could not be loaded: ${c.message}`), { code: c.code });
  }
  if (!session.inputNames.includes(req.manifest.input.name) || !session.outputNames.includes(req.manifest.output.name)) {
    throw Object.assign(new Error(`model has inputs [${session.inputNames}] and outputs [${session.outputNames}]; the manifest expects ${req.manifest.input.name} → ${req.manifest.output.name}`), { code: 'wrong-shape' });
  }
  provider = req.provider;
  if (req.provider === 'webgpu') {
    void Promise.resolve(ort.env.webgpu.device).then((device) => {
      (device as unknown as { lost?: Promise<{ message: string }> })?.lost?.then((info) => {
        fatal = { code: 'device-lost', message: `GPU device lost: ${info.message || 'no reason given'}` };
        post({ type: 'error', ...fatal });
      });
    });
  }
  post({ type: 'ready', provider, sessionMs: performance.now() - t0, numThreads: req.numThreads, crossOriginIsolated: self.crossOriginIsolated, adapter: adapterInfo });
}

interface GPUAdapterLike {
  info?: { vendor?: string; architecture?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

async function runTensor(data: Float32Array): Promise<Float32Array> {
  if (!ort || !session || !manifest) throw new Error('model not loaded');
  const { input, output } = manifest;
  const tensor = new ort.Tensor('float32', data, [1, input.channels, input.height, input.width]);
  try {
    const out = await session.run({ [input.name]: tensor });
    const t = out[output.name];
    // WebGPU outputs can live on the GPU: getData() downloads them.
    const values = (t.location === 'cpu' ? t.data : await t.getData()) as Float32Array;
    const copy = new Float32Array(values);
    t.dispose();
    return copy;
  } finally {
    tensor.dispose();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function handle(msg: WorkerRequest): Promise<void> {
  if (msg.type === 'init') {
    try {
      await init(msg);
    } catch (e) {
      const code = (e as { code?: AiErrorCode }).code ?? classify(e, 'runtime-failed').code;
      post({ type: 'error', code, message: (e as Error).message });
    }
    return;
  }
  if (fatal) {
    post({ type: 'error', ...fatal, ...(msg.type === 'slice' ? { runId: msg.runId, index: msg.index } : { id: msg.id }) });
    return;
  }
  if (msg.type === 'tensor') {
    try {
      const t0 = performance.now();
      const data = await runTensor(msg.data);
      post({ type: 'tensor', id: msg.id, data, ms: performance.now() - t0 }, [data.buffer]);
    } catch (e) {
      post({ type: 'error', id: msg.id, ...classify(e, 'inference-failed') });
    }
    return;
  }
  try {
    if (!manifest) throw new Error('model not loaded');
    let t = performance.now();
    const data = preprocess(msg, manifest.input);
    const preMs = performance.now() - t;
    t = performance.now();
    const out = await runTensor(data);
    if (slowMs) await sleep(slowMs);
    const infMs = performance.now() - t;
    t = performance.now();
    const detections = decodeSlice(out, manifest, { columns: msg.columns, rows: msg.rows });
    post({ type: 'slice', runId: msg.runId, index: msg.index, detections, ms: { preprocess: preMs, inference: infMs, postprocess: performance.now() - t } });
  } catch (e) {
    const c = classify(e, /wrong output shape|pixel data has/.test((e as Error).message) ? 'wrong-shape' : 'inference-failed');
    post({ type: 'error', runId: msg.runId, index: msg.index, ...c });
  }
}

// onnxruntime's own thread workers are named 'em-pthread' and may re-import this script: leave
// them to onnxruntime, or threaded inference never returns.
if (self.name !== 'em-pthread') {
  // One message at a time, in order: a session runs one inference at a time anyway.
  let queue = Promise.resolve();
  self.onmessage = (ev: MessageEvent<WorkerRequest>) => {
    queue = queue.then(() => handle(ev.data));
  };
}
