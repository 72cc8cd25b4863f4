/**
 * window.__rsAi: lets the e2e tests and the benchmark drive the same worker the viewer uses
 * (raw tensor in, raw output out) to compare providers and Node, and read the status.
 * No patient data passes through it; it exposes nothing the page could not do itself.
 */
import { AiEngine, chooseProvider, defaultThreads } from './engine';
import { getAiStatus } from './status';
import { loadRegistry } from './runner';
import type { Provider } from './protocol';

export interface AiTestHook {
  status: typeof getAiStatus;
  chooseProvider: typeof chooseProvider;
  /** Run a model on a raw input tensor in a fresh worker; returns output, provider and timings. */
  runTensor(model: string, provider: Provider, data: number[] | Float32Array, opts?: { threads?: number; allowFallbackAdapter?: boolean; repeat?: number }): Promise<{ output: number[]; provider: Provider; sessionMs: number; runMs: number[]; numThreads: number; crossOriginIsolated: boolean }>;
}

export function installAiTestHook(): void {
  const hook: AiTestHook = {
    status: getAiStatus,
    chooseProvider,
    async runTensor(model, provider, data, opts = {}) {
      const m = (await loadRegistry()).find((x) => x.name === model);
      if (!m) throw new Error(`no model ${model}`);
      const numThreads = provider === 'wasm' ? (opts.threads ?? defaultThreads()) : 1;
      const engine = await AiEngine.create({ manifest: m, modelUrl: m.modelUrl, provider, ortBase: '/ort/', numThreads, allowFallbackAdapter: !!opts.allowFallbackAdapter });
      try {
        const input = data instanceof Float32Array ? data : Float32Array.from(data);
        const runMs: number[] = [];
        let out: Float32Array = new Float32Array();
        for (let i = 0; i < (opts.repeat ?? 1); i++) {
          const r = await engine.runTensor(new Float32Array(input));
          out = r.data;
          runMs.push(r.ms);
        }
        return { output: Array.from(out), provider: engine.provider, sessionMs: engine.sessionMs, runMs, numThreads: engine.numThreads, crossOriginIsolated: self.crossOriginIsolated };
      } finally {
        engine.dispose();
      }
    },
  };
  (globalThis as { __rsAi?: AiTestHook }).__rsAi = hook;
}
