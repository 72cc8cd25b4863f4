/**
 * onnxruntime's start (worker, 14 MB WebAssembly compile, threads) is most of a fresh page's AI
 * time and does not depend on the model: it can run before the model is known. This module has no
 * Cornerstone in it, so the shell can start it as soon as the first image is on screen (preview),
 * while the viewer's own code loads on the other core.
 */
import { AiRuntime, chooseProvider, defaultThreads, type RuntimeOptions } from './engine';
import { aiConfig, type AiConfig } from './config';
import type { Provider } from './protocol';

/**
 * The modalities the last registry seen on this browser covers: whether to start onnxruntime
 * before this page's registry has arrived. Only a hint for that head start (the indication check
 * always uses the registry just fetched); without one (first visit) nothing starts early, so a
 * study outside every model's indication never costs a runtime start.
 */
export const MODALITY_HINT = 'rs.ai.registryModalities';
export function registryMayCover(modality: string): boolean {
  try {
    const hint = JSON.parse(localStorage.getItem(MODALITY_HINT) ?? 'null') as unknown;
    return Array.isArray(hint) && hint.includes(modality.trim().toUpperCase());
  } catch {
    return false;
  }
}

/** Runtimes started before the model was known, per provider and thread count, waiting for one. */
const spares = new Map<string, AiRuntime>();

export function runtimeOptions(provider: Provider, cfg: AiConfig): RuntimeOptions {
  return { provider, ortBase: '/ort/', numThreads: provider === 'wasm' ? (cfg.threads ?? defaultThreads()) : 1, allowFallbackAdapter: cfg.allowFallbackAdapter };
}
const runtimeKey = (o: RuntimeOptions) => `${o.provider}×${o.numThreads}`;

/**
 * Starts onnxruntime for this provider now (worker, WebAssembly compile, threads), unless an engine
 * or a spare runtime for it exists already: the model-independent part of session creation, run
 * while the registry is fetched and the indication checked.
 */
export function warmRuntime(provider: Provider, cfg: AiConfig): void {
  const o = runtimeOptions(provider, cfg);
  const key = runtimeKey(o);
  if (spares.has(key) || hasEngine(provider)) return;
  performance.mark('ai:runtime-start');
  spares.set(key, AiRuntime.start(o));
}

/** Whether an engine for this provider is already up (the runner, which owns engines, says). */
let hasEngine: (provider: Provider) => boolean = () => false;
export function setEngineCheck(fn: (provider: Provider) => boolean): void {
  hasEngine = fn;
}

/** The spare runtime for these options, once (the engine being built takes it). */
export function takeSpareRuntime(o: RuntimeOptions): AiRuntime | undefined {
  const spare = spares.get(runtimeKey(o));
  spares.delete(runtimeKey(o));
  return spare;
}

/** From the shell: warm the runtime for a study of this modality, if a model may cover it. */
export function warmForModality(modality: string | undefined): void {
  const cfg = aiConfig();
  if (!cfg.enabled || !modality || !registryMayCover(modality)) return;
  void chooseProvider({ force: cfg.provider, allowFallbackAdapter: cfg.allowFallbackAdapter }).then(
    ({ provider }) => warmRuntime(provider, cfg),
    () => {},
  );
}
