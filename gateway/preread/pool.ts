/**
 * A pool of inference workers (node:worker_threads), sized from the cores by default (service.ts:
 * os.availableParallelism(), PREREAD_WORKERS overrides). Each request is one instance read by one
 * model, so slices are read as they land and a study's slices spread over every worker. Workers are
 * TypeScript; each boots tsx's loader first so the same source runs under `tsx gateway/main.ts`,
 * vitest and the start script. A worker that dies fails its request (the queue retries) and is replaced.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OrthancAccess } from './pacs.js';
import type { SliceDetection } from '../../src/core/ai/processing.js';
import type { IntensityStats, ValueFacts } from '../../src/core/ai/domain.js';
import type { Positioned } from './slices.js';
import { observeInferenceOf } from '../ops/metrics.js';

export interface WorkerRequest {
  /** The slice row's id (preread_slices). */
  jobId: string;
  studyInstanceUID: string;
  /** The Orthanc instance to read. */
  instanceId: string;
  manifestDir: string;
  orthanc: OrthancAccess;
}

/** One instance read by one model: its boxes before cross-slice linking and the domain guard's statistics. */
export interface SliceOutput extends Positioned {
  image: { seriesInstanceUID: string; sopInstanceUID: string; sopClassUID?: string };
  columns: number;
  rows: number;
  detections: SliceDetection[];
  /** null when the model declares no intensity guard. */
  stats: IntensityStats | null;
  values: ValueFacts;
  /** Pixel counts per HU bin (src/core/governance/drift.ts HU_BINS) for the drift figures; null when not HU. Absent in outputs stored before it. */
  huHistogram?: number[] | null;
}

export type WorkerResponse =
  | { type: 'result'; jobId: string; slice: SliceOutput; provider: string; timings: Record<string, number> }
  | { type: 'error'; jobId: string; message: string };

function bootstrapCode(): string {
  const req = createRequire(import.meta.url);
  const tsxApi = pathToFileURL(path.join(path.dirname(req.resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href;
  const entry = new URL('./worker.ts', import.meta.url).href;
  return `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
}

interface Slot {
  worker: Worker;
  busy: { req: WorkerRequest; resolve: (r: WorkerResponse) => void } | null;
}

export class InferencePool {
  private slots: Slot[] = [];
  private running = false;
  private readonly code = bootstrapCode();

  constructor(private readonly size: number, private readonly onChange: () => void = () => {}) {}

  get up(): boolean {
    return this.running && this.slots.length > 0;
  }

  get idle(): number {
    return this.running ? this.slots.filter((s) => !s.busy).length : 0;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.size; i++) this.spawn();
    this.onChange();
  }

  /** Stops every worker now; jobs in flight come back as errors (and are retried later). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    const slots = this.slots;
    this.slots = [];
    await Promise.all(
      slots.map(async (s) => {
        s.busy?.resolve({ type: 'error', jobId: s.busy.req.jobId, message: 'inference workers stopped' });
        s.busy = null;
        await s.worker.terminate();
      }),
    );
    this.onChange();
  }

  run(req: WorkerRequest): Promise<WorkerResponse> {
    const slot = this.running ? this.slots.find((s) => !s.busy) : undefined;
    if (!slot) return Promise.resolve({ type: 'error', jobId: req.jobId, message: 'no idle inference worker' });
    return new Promise((resolve) => {
      slot.busy = { req, resolve };
      slot.worker.postMessage(req);
    });
  }

  private spawn(): void {
    const worker = new Worker(this.code, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 1024 } });
    const slot: Slot = { worker, busy: null };
    this.slots.push(slot);
    worker.on('message', (res: WorkerResponse) => {
      const b = slot.busy;
      if (b && b.req.jobId === res.jobId) {
        slot.busy = null;
        if (res.type === 'result') observeInferenceOf(b.req.manifestDir, res.timings.inferenceMs); // metrics: per model and version
        b.resolve(res);
      }
    });
    const died = (why: string) => {
      const b = slot.busy;
      slot.busy = null;
      this.slots = this.slots.filter((s) => s !== slot);
      b?.resolve({ type: 'error', jobId: b.req.jobId, message: `inference worker died: ${why}` });
      if (this.running) this.spawn();
      this.onChange();
    };
    worker.on('error', (e) => died(e.message));
    worker.on('exit', (code) => {
      if (this.slots.includes(slot)) died(`exit ${code}`);
    });
  }
}
