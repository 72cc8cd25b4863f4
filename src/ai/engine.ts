/**
 * Main-thread handle on the AI worker: picks the provider (WebGPU when a real adapter exists,
 * else WASM with SIMD + threads), starts the worker, and turns its messages into promises.
 */
import type { ModelManifest } from '../core/ai/manifest';
import type { SliceDetection } from '../core/ai/processing';
import type { AiErrorCode, InitRequest, Provider, SliceRequest, WorkerRequest, WorkerResponse } from './protocol';

export class AiError extends Error {
  constructor(
    readonly code: AiErrorCode | 'cancelled',
    message: string,
  ) {
    super(message);
    this.name = 'AiError';
  }
}

interface GpuLike {
  requestAdapter(o?: object): Promise<{ info?: { isFallbackAdapter?: boolean }; isFallbackAdapter?: boolean } | null>;
}

/** WebGPU only with a real (hardware) adapter unless a software one is explicitly allowed. */
export async function chooseProvider(opts: { force?: Provider; allowFallbackAdapter?: boolean } = {}): Promise<{ provider: Provider; why: string }> {
  if (opts.force) return { provider: opts.force, why: 'requested' };
  const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
  if (!gpu) return { provider: 'wasm', why: 'no WebGPU in this browser' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { provider: 'wasm', why: 'no WebGPU adapter' };
    const fallback = adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
    if (fallback && !opts.allowFallbackAdapter) return { provider: 'wasm', why: 'only a software WebGPU adapter' };
    return { provider: 'webgpu', why: fallback ? 'software adapter (asked for)' : 'hardware adapter' };
  } catch (e) {
    return { provider: 'wasm', why: `WebGPU failed: ${(e as Error).message}` };
  }
}

/**
 * Threads for WASM: onnxruntime's default is one on a 2-core machine; threads need cross-origin
 * isolation. All cores (at most four), not all but one: measured with npm run bench:ai on 2 cores,
 * one thread was no faster for the head CT and clearly slower for the chest CR.
 */
export function defaultThreads(): number {
  if (!self.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2));
}

type Pending = { resolve: (v: WorkerResponse) => void; reject: (e: AiError) => void };

export type RuntimeOptions = Pick<InitRequest, 'provider' | 'ortBase' | 'numThreads' | 'allowFallbackAdapter'>;

/**
 * A worker with onnxruntime loaded and its WebAssembly compiled and started, but no model yet:
 * the expensive, model-independent part of session creation, started as soon as AI may run so it
 * overlaps fetching the registry and the indication check. AiEngine.load() turns it into an engine.
 */
export class AiRuntime {
  /** Requests answered in order (the worker handles one message at a time, one reply each). */
  private waiters: Pending[] = [];
  private failed: AiError | null = null;
  private taken = false;
  readonly ready: Promise<Extract<WorkerResponse, { type: 'runtime-ready' }>>;

  private constructor(
    private worker: Worker,
    readonly opts: RuntimeOptions,
    private startedAt: number,
  ) {
    worker.onmessage = (ev: MessageEvent<WorkerResponse>) => {
      const w = this.waiters.shift();
      if (!w) return;
      if (ev.data.type === 'error') w.reject(new AiError(ev.data.code, ev.data.message));
      else w.resolve(ev.data);
    };
    worker.onerror = (ev) => {
      this.failed = new AiError('runtime-failed', `AI worker failed to start: ${ev.message || 'script error'}`);
      for (const w of this.waiters.splice(0)) w.reject(this.failed);
    };
    this.ready = this.request({ type: 'runtime', ...pickRuntime(opts) }) as Promise<Extract<WorkerResponse, { type: 'runtime-ready' }>>;
    this.ready.catch(() => undefined); // reported by load() or whoever waits on it
  }

  static start(opts: RuntimeOptions): AiRuntime {
    const startedAt = performance.now();
    return new AiRuntime(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'rs-ai' }), opts, startedAt);
  }

  private request = (msg: WorkerRequest): Promise<WorkerResponse> => {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.worker.postMessage(msg);
    });
  };

  /** Hands the worker over (once). */
  take(): { worker: Worker; startedAt: number; request: (msg: WorkerRequest) => Promise<WorkerResponse> } {
    if (this.taken) throw new Error('AI runtime already used');
    this.taken = true;
    return { worker: this.worker, startedAt: this.startedAt, request: this.request };
  }

}

const pickRuntime = (o: RuntimeOptions): RuntimeOptions => ({ provider: o.provider, ortBase: o.ortBase, numThreads: o.numThreads, allowFallbackAdapter: o.allowFallbackAdapter });

export class AiEngine {
  private pending = new Map<string, Pending>();
  private nextId = 1;
  private dead: AiError | null = null;
  onFatal: ((e: AiError) => void) | null = null;

  private constructor(
    private worker: Worker,
    readonly manifest: ModelManifest,
    readonly provider: Provider,
    readonly sessionMs: number,
    readonly numThreads: number,
    /** Where session creation went (worker start → ready), for the status and the benchmark. */
    readonly initPhases: Record<string, number> = {},
  ) {}

  static async create(init: Omit<InitRequest, 'type'>): Promise<AiEngine> {
    return AiEngine.load(AiRuntime.start(init), init);
  }

  /** Loads the model into a started runtime (whose worker it takes over; one session per worker). */
  static async load(rt: AiRuntime, init: Omit<InitRequest, 'type'>): Promise<AiEngine> {
    const { worker, startedAt, request } = rt.take();
    const ready = (await request({ type: 'init', ...init } satisfies InitRequest).catch((e) => {
      worker.terminate();
      throw e;
    })) as Extract<WorkerResponse, { type: 'ready' }>;
    const phases = { ...ready.phases, createTotalMs: performance.now() - startedAt };
    const engine = new AiEngine(worker, init.manifest, ready.provider, ready.sessionMs, ready.numThreads, phases);
    worker.onmessage = (ev: MessageEvent<WorkerResponse>) => engine.receive(ev.data);
    worker.onerror = (ev) => engine.fail(new AiError('runtime-failed', `AI worker crashed: ${ev.message || 'script error'}`));
    return engine;
  }

  private receive(m: WorkerResponse): void {
    const key = m.type === 'slice' ? `s${m.runId}:${m.index}` : m.type === 'tensor' ? `t${m.id}` : m.type === 'error' ? (m.runId !== undefined ? `s${m.runId}:${m.index}` : m.id !== undefined ? `t${m.id}` : '') : '';
    if (m.type === 'error' && !key) {
      // Not tied to a request (e.g. the GPU device was lost): the engine is unusable from now on.
      this.fail(new AiError(m.code, m.message));
      return;
    }
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    if (m.type === 'error') p.reject(new AiError(m.code, m.message));
    else p.resolve(m);
  }

  private fail(e: AiError): void {
    this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.onFatal?.(e);
  }

  get usable(): boolean {
    return !this.dead;
  }

  runSlice(runId: number, index: number, s: Omit<SliceRequest, 'type' | 'runId' | 'index'>): Promise<{ detections: SliceDetection[]; ms: { preprocess: number; inference: number; postprocess: number } }> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.pending.set(`s${runId}:${index}`, { resolve: (m) => resolve(m as Extract<WorkerResponse, { type: 'slice' }>), reject });
      this.worker.postMessage({ type: 'slice', runId, index, ...s } satisfies SliceRequest, [s.pixelData.buffer]);
    });
  }

  runTensor(data: Float32Array): Promise<{ data: Float32Array; ms: number }> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(`t${id}`, { resolve: (m) => resolve(m as Extract<WorkerResponse, { type: 'tensor' }>), reject });
      this.worker.postMessage({ type: 'tensor', id, data });
    });
  }

  dispose(): void {
    this.fail(new AiError('cancelled', 'AI engine closed'));
    this.worker.terminate();
  }
}
