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

/**
 * A 70-byte ONNX graph (float[1] x → Identity → y, opset 17). Creating a session on it makes
 * onnxruntime fetch, compile and instantiate its WebAssembly and start its threads: the bulk of
 * session creation, and independent of the model. So it can run while the viewer is still
 * fetching the model registry and deciding whether any model applies.
 */
const WARM_MODEL = 'CAgSADo6ChAKAXgSAXkiCElkZW50aXR5EgR3YXJtWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQEQ==';

type RuntimeOpts = Pick<InitRequest, 'provider' | 'ortBase' | 'numThreads' | 'allowFallbackAdapter'>;
let runtime: Promise<{ ms: number; phases: Record<string, number>; adapter?: string }> | null = null;
let runtimeOpts: RuntimeOpts | null = null;

/** onnxruntime loaded and its WebAssembly backend initialised (once per worker). */
function loadRuntime(req: RuntimeOpts): Promise<{ ms: number; phases: Record<string, number>; adapter?: string }> {
  if (runtime) {
    if (runtimeOpts && (runtimeOpts.provider !== req.provider || runtimeOpts.numThreads !== req.numThreads)) {
      return Promise.reject(Object.assign(new Error(`this worker runs ${runtimeOpts.provider}×${runtimeOpts.numThreads}, not ${req.provider}×${req.numThreads}`), { code: 'runtime-failed' }));
    }
    return runtime;
  }
  runtimeOpts = req;
  runtime = (async () => {
    const t0 = performance.now();
    const phases: Record<string, number> = {};
    try {
      const file = req.provider === 'webgpu' ? 'ort.webgpu.min.mjs' : 'ort.wasm.min.mjs';
      ort = (await import(/* @vite-ignore */ new URL(req.ortBase + file, self.location.origin).href)) as typeof Ort;
    } catch (e) {
      throw Object.assign(new Error(`onnxruntime could not be loaded from ${req.ortBase}: ${(e as Error).message}`), { code: 'runtime-failed' });
    }
    phases.importOrt = performance.now() - t0;
    ort.env.wasm.wasmPaths = new URL(req.ortBase, self.location.origin).href;
    ort.env.wasm.numThreads = req.numThreads;
    ort.env.wasm.proxy = false; // we are the worker already
    ort.env.logLevel = 'error';

    let adapter: string | undefined;
    if (req.provider === 'webgpu') {
      const gpu = (self.navigator as Navigator & { gpu?: { requestAdapter(o?: object): Promise<GPUAdapterLike | null> } }).gpu;
      const a = await gpu?.requestAdapter();
      if (!a) throw Object.assign(new Error('no WebGPU adapter in the worker'), { code: 'runtime-failed' });
      const fallback = a.info?.isFallbackAdapter ?? a.isFallbackAdapter ?? false;
      if (fallback && !req.allowFallbackAdapter) throw Object.assign(new Error('only a software (fallback) WebGPU adapter is available'), { code: 'runtime-failed' });
      adapter = [a.info?.vendor, a.info?.architecture, fallback ? 'fallback' : ''].filter(Boolean).join(' ');
      (ort.env.webgpu as { adapter: unknown }).adapter = a;
    }
    // The WebAssembly backend (shared by both bundles; the WebGPU device itself comes with the real session).
    const tw = performance.now();
    try {
      const warm = await ort.InferenceSession.create(Uint8Array.from(atob(WARM_MODEL), (c) => c.charCodeAt(0)), { executionProviders: ['wasm'] });
      await warm.release();
    } catch (e) {
      const c = classify(e, 'runtime-failed');
      throw Object.assign(new Error(`onnxruntime could not start: ${c.message}`), { code: c.code });
    }
    phases.initWasm = performance.now() - tw;
    // Let the JIT compile the pre-processing now rather than on the first slices (a fresh worker runs it cold).
    const tj = performance.now();
    warmPreprocess();
    phases.warmJs = performance.now() - tj;
    return { ms: performance.now() - t0, phases, adapter };
  })();
  runtime.catch(() => undefined);
  return runtime;
}

function warmPreprocess(): void {
  const rows = 64;
  const columns = 64;
  const pixelData = new Int16Array(rows * columns).map((_, i) => (i * 37) % 2000 - 1000);
  const input = { name: 'warm', channels: 1, width: 32, height: 32 };
  for (let k = 0; k < 3; k++) {
    preprocess({ rows, columns, pixelData, slope: 1, intercept: -1024 }, { ...input, normalisation: { kind: 'window', center: 40, width: 80 } } as ModelManifest['input']);
    preprocess({ rows, columns, pixelData: new Uint16Array(pixelData.buffer), photometricInterpretation: 'MONOCHROME1' }, { ...input, normalisation: { kind: 'minmax' } } as ModelManifest['input']);
  }
}

async function init(req: InitRequest): Promise<void> {
  const t0 = performance.now();
  const rt = await loadRuntime(req);
  const waitedMs = performance.now() - t0;
  const phases: Record<string, number> = { ...rt.phases };
  manifest = req.manifest;
  slowMs = req.slowMsPerSlice ?? 0;

  let tp = performance.now();
  const res = await fetch(req.modelUrl, { credentials: 'same-origin' });
  if (!res.ok) throw Object.assign(new Error(`model file missing: ${req.modelUrl} (HTTP ${res.status})`), { code: 'model-missing' });
  const bytes = await res.arrayBuffer();
  if (req.manifest.files.sha256 && (await sha256Hex(bytes)) !== req.manifest.files.sha256) {
    throw Object.assign(new Error(`model file corrupt: ${req.modelUrl} does not match the manifest's checksum`), { code: 'model-corrupt' });
  }
  phases.fetchModel = performance.now() - tp;
  tp = performance.now();
  try {
    session = await ort!.InferenceSession.create(new Uint8Array(bytes), { executionProviders: [req.provider], graphOptimizationLevel: 'all' });
  } catch (e) {
    const c = classify(e, 'model-corrupt');
    throw Object.assign(new Error(`model could not be loaded: ${c.message}`), { code: c.code });
  }
  phases.createSession = performance.now() - tp;
  if (!session.inputNames.includes(req.manifest.input.name) || !session.outputNames.includes(req.manifest.output.name)) {
    throw Object.assign(new Error(`model has inputs [${session.inputNames}] and outputs [${session.outputNames}]; the manifest expects ${req.manifest.input.name} → ${req.manifest.output.name}`), { code: 'wrong-shape' });
  }
  provider = req.provider;
  if (req.provider === 'webgpu') {
    void Promise.resolve(ort!.env.webgpu.device).then((device) => {
      (device as unknown as { lost?: Promise<{ message: string }> })?.lost?.then((info) => {
        fatal = { code: 'device-lost', message: `GPU device lost: ${info.message || 'no reason given'}` };
        post({ type: 'error', ...fatal });
      });
    });
  }
  // Creation cost: the runtime's own time (whenever it ran) plus the model's, not time spent idle.
  const modelMs = performance.now() - t0 - waitedMs;
  post({ type: 'ready', provider, sessionMs: rt.ms + modelMs, numThreads: req.numThreads, crossOriginIsolated: self.crossOriginIsolated, adapter: rt.adapter, phases });
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
  if (msg.type === 'runtime') {
    try {
      const rt = await loadRuntime(msg);
      post({ type: 'runtime-ready', ms: rt.ms, phases: rt.phases });
    } catch (e) {
      const code = (e as { code?: AiErrorCode }).code ?? classify(e, 'runtime-failed').code;
      post({ type: 'error', code, message: (e as Error).message });
    }
    return;
  }
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
