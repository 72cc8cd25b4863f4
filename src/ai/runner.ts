/**
 * Runs the study's model slice by slice in the AI worker while the radiologist reads:
 * indication guard first, progress per slice, cancelled when the study closes, a latency limit
 * after which the viewer reads without AI (late results only when asked), every error a status.
 */
import { imageLoader, metaData } from '@cornerstonejs/core';
import { wadors } from '@cornerstonejs/dicom-image-loader';
import { decideRun, eligibility, type ServerModelVerdict } from '../core/ai/eligibility';
import { studyFacts as factsFromDicomJson, type SeriesFacts } from '../core/study/facts';
import type { DicomJson } from '../core/imaging/dicomJson';
import { toFindings, type SliceResult } from '../core/ai/to-findings';
import type { Finding } from '../core/findings/finding';
import { apiFetch, apiJson } from '../auth/api';
import { loadFindings } from '../findings/api';
import { AiEngine, AiError, AiRuntime, chooseProvider } from './engine';
import { MODALITY_HINT, registryMayCover, runtimeOptions, setEngineCheck, takeSpareRuntime, warmRuntime } from './warmup';
import { aiConfig, type AiConfig } from './config';
import { getAiStatus, setAiStatus } from './status';
import type { Provider, SliceRequest } from './protocol';
import { guardedPixelPipeline } from './pipeline';
import { browserRunnable, type RegistryEntry } from './registry';
import { valueFactsOf } from '../core/ai/domain';

export interface RunTarget {
  studyInstanceUID: string;
  imageIds: string[];
  imageRefs: { sopInstanceUID: string; frameNumber?: number; seriesInstanceUID: string }[];
}


let registry: Promise<RegistryEntry[]> | null = null;
export function loadRegistry(): Promise<RegistryEntry[]> {
  registry ??= apiJson<{ models: unknown[] }>('/api/models')
    .then((r) => browserRunnable(r.models)) // a remote model runs at its service (gateway), never in the browser
    .then((models) => {
      try {
        localStorage.setItem(MODALITY_HINT, JSON.stringify([...new Set(models.flatMap((m) => m.indication.modalities.map((x) => x.toUpperCase())))]));
      } catch {
        // storage full or blocked: the hint is only an optimisation
      }
      return models;
    })
    .catch((e) => {
      registry = null;
      throw e;
    });
  return registry;
}

/** Engines are kept per model and provider: the session survives from one study to the next. */
const engines = new Map<string, Promise<AiEngine>>();
setEngineCheck((provider) => [...engines.keys()].some((k) => k.endsWith(`/${provider}`)));

export function getEngine(m: RegistryEntry, provider: Provider, cfg: AiConfig): Promise<AiEngine> {
  const key = `${m.name}@${m.version}/${provider}`;
  let e = engines.get(key);
  if (!e) {
    const o = runtimeOptions(provider, cfg);
    e = AiEngine.load(takeSpareRuntime(o) ?? AiRuntime.start(o), { ...o, manifest: m, modelUrl: m.modelUrl, slowMsPerSlice: cfg.slowMsPerSlice });
    engines.set(key, e);
    e.then((eng) => (eng.onFatal = () => engines.delete(key))).catch(() => engines.delete(key));
  }
  return e;
}

/**
 * THE study facts (src/core/study/facts.ts) of the series on screen, from the WADO-RS metadata the
 * viewer registered for its images: the same DICOM JSON, and the same function, the gateway uses.
 */
export function studyFacts(imageIds: readonly string[]): SeriesFacts {
  const seen = new Set<DicomJson>();
  for (const id of imageIds) {
    const ds = wadors.metaDataManager.get(id) as DicomJson | undefined;
    if (ds) seen.add(ds);
  }
  return factsFromDicomJson([...seen]);
}

/** The server's verdict on each model for this series (GET /api/studies/:s/ai-status?series=), the same rule on its own facts. */
async function serverVerdicts(studyUID: string, seriesUID: string | null): Promise<ServerModelVerdict[]> {
  const q = seriesUID ? `?series=${encodeURIComponent(seriesUID)}` : '';
  const r = await apiJson<{ models: ServerModelVerdict[] }>(`/api/studies/${encodeURIComponent(studyUID)}/ai-status${q}`);
  return r.models;
}

type PixelArray = SliceRequest['pixelData'];

/** A copy of the image's stored values (the cache keeps its own), with how to interpret them. */
async function slicePixels(imageId: string): Promise<Omit<SliceRequest, 'type' | 'runId' | 'index'>> {
  const image = await imageLoader.loadAndCacheImage(imageId);
  const px = image.getPixelData() as PixelArray;
  const copy = px.slice() as PixelArray;
  // Cornerstone may have applied the modality LUT already (preScale): then it must not be applied twice.
  const pre = (image as { preScale?: { scaled?: boolean } }).preScale;
  const scaled = !!pre?.scaled;
  const pixelModule = metaData.get('imagePixelModule', imageId) as { photometricInterpretation?: string } | undefined;
  return {
    rows: image.rows,
    columns: image.columns,
    pixelData: copy,
    slope: scaled ? 1 : (image.slope ?? 1),
    intercept: scaled ? 0 : (image.intercept ?? 0),
    photometricInterpretation: pixelModule?.photometricInterpretation ?? image.photometricInterpretation,
  };
}

type SlicePixels = Awaited<ReturnType<typeof slicePixels>>;

/** Enough to hide fetch/decode latency; bounded so a long series does not hold every copy at once. */
const PIXELS_AHEAD = 8;
/**
 * Slices handed to the worker before the previous one is answered: with two, the next slice is
 * already queued in the worker when one finishes, so it never idles for a message round trip
 * through a busy main thread. More buys nothing (the session runs one at a time).
 */
const SLICES_IN_FLIGHT = 2;

let runCounter = 0;

export class StudyRun {
  readonly runId = ++runCounter;
  private cancelled = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timedOut = false;
  private late: Finding[] | null = null;
  private lateMeta: { model: RegistryEntry; provider: Provider; timingsMs: Record<string, number> } | null = null;

  constructor(
    readonly target: RunTarget,
    private cfg: AiConfig = aiConfig(),
  ) {}

  private live(): boolean {
    return !this.cancelled && getAiStatus().studyUID === this.target.studyInstanceUID;
  }

  private update(p: Partial<ReturnType<typeof getAiStatus>>): void {
    if (this.live()) setAiStatus((s) => ({ ...s, ...p }));
  }

  cancel(): void {
    this.cancelled = true;
    if (this.timer) clearTimeout(this.timer);
  }

  async start(): Promise<void> {
    const t0 = performance.now();
    const { studyInstanceUID, imageIds } = this.target;
    const phases: Record<string, number> = {};
    const at = (k: string) => (phases[k] = round(performance.now() - t0));
    performance.mark('ai:start');
    setAiStatus({ state: 'checking', studyUID: studyInstanceUID, done: 0, total: imageIds.length });
    if (!this.cfg.enabled || !imageIds.length) return this.update({ state: 'idle' });
    this.timer = setTimeout(() => {
      if (this.cancelled) return;
      const s = getAiStatus();
      if (['checking', 'loading', 'running'].includes(s.state)) {
        this.timedOut = true;
        this.update({ state: 'unavailable', message: `no results within ${Math.round(this.cfg.limitMs / 1000)} s` });
      }
    }, this.cfg.limitMs);
    try {
      // The provider choice and the runtime start do not depend on the model: they run while the
      // registry is fetched and the indication is checked.
      const facts = studyFacts(imageIds);
      const providerChoice = chooseProvider({ force: this.cfg.provider, allowFallbackAdapter: this.cfg.allowFallbackAdapter });
      if (registryMayCover(facts.modality ?? '')) {
        void providerChoice.then(({ provider }) => {
          at('providerAt');
          if (!this.cancelled) warmRuntime(provider, this.cfg);
        });
      }
      // The browser's own verdict (THE eligibility rule on its facts) and the server's (the same rule on
      // the server's facts, plus AI disable and rollout): a model runs only when both say yes.
      const seriesUID = this.target.imageRefs[0]?.seriesInstanceUID ?? facts.seriesInstanceUID;
      const verdicts = serverVerdicts(studyInstanceUID, seriesUID);
      verdicts.catch(() => undefined); // awaited below unless the local verdict already refuses
      const models = await loadRegistry();
      at('registryAt');
      if (!models.some((m) => eligibility(m, facts).ok)) {
        const d = decideRun(models, facts, []);
        if (this.timer) clearTimeout(this.timer);
        return this.update({ state: 'skipped', message: d.run ? undefined : refusal(d), refusedBy: 'browser' });
      }
      let server: ServerModelVerdict[];
      try {
        server = await verdicts;
      } catch (e) {
        throw new Error(`the server's AI verdict for this study is unavailable (${(e as Error).message}); AI does not run without it`);
      }
      at('verdictAt');
      if (this.cancelled) return;
      const decision = decideRun(models, facts, server);
      if (!decision.run) {
        if (this.timer) clearTimeout(this.timer);
        return this.update({ state: 'skipped', message: refusal(decision), refusedBy: 'server' });
      }
      const chosen = decision.run;
      if (this.cancelled) return;
      this.update({ state: 'loading', model: { name: chosen.name, version: chosen.version } });
      // Start loading pixels now: it runs while the session is being created.
      const pixels = guardedPixelPipeline<SlicePixels>(chosen.domain, valueFactsOf(wadors.metaDataManager.get(imageIds[0]) as DicomJson | undefined), imageIds.length, (i) => slicePixels(imageIds[i]), PIXELS_AHEAD); // THE domain guard (issue 18) sees every slice
      pixels.prime();
      const { provider } = await providerChoice;
      let engine: AiEngine;
      try {
        engine = await getEngine(chosen, provider, this.cfg);
      } catch (e) {
        // WebGPU can fail where the adapter looked fine: WASM is always there.
        if (provider !== 'webgpu' || (e as AiError).code === 'model-missing' || (e as AiError).code === 'model-corrupt') throw e;
        engine = await getEngine(chosen, 'wasm', this.cfg);
      }
      if (this.cancelled) return;
      at('engineReadyAt');
      for (const [k, v] of Object.entries(engine.initPhases)) phases[`engine.${k}`] = round(v);
      this.update({ state: this.timedOut ? 'unavailable' : 'running', provider: engine.provider, numThreads: engine.numThreads, done: 0 });

      const results: SliceResult[] = [];
      let inferenceMs = 0;
      let waitMs = 0;
      const worker = { preprocess: 0, inference: 0, postprocess: 0 };
      const submit = (i: number) => {
        const p = pixels.take(i).then((px) => {
          if (this.cancelled) throw new AiError('cancelled', 'AI run cancelled');
          const dims = { columns: px.columns, rows: px.rows }; // px.pixelData is transferred to the worker
          return engine.runSlice(this.runId, i, px).then((r) => ({ ...dims, r }));
        });
        p.catch(() => undefined); // awaited in order below; not an unhandled rejection meanwhile
        return p;
      };
      const inFlight = new Map<number, ReturnType<typeof submit>>();
      for (let i = 0; i < Math.min(SLICES_IN_FLIGHT, imageIds.length); i++) inFlight.set(i, submit(i));
      for (let i = 0; i < imageIds.length; i++) {
        if (this.cancelled) return;
        const tw = performance.now();
        const { columns, rows, r } = await inFlight.get(i)!;
        waitMs += performance.now() - tw;
        inFlight.delete(i);
        if (this.cancelled) return;
        if (i + SLICES_IN_FLIGHT < imageIds.length) inFlight.set(i + SLICES_IN_FLIGHT, submit(i + SLICES_IN_FLIGHT));
        worker.preprocess += r.ms.preprocess;
        worker.inference += r.ms.inference;
        worker.postprocess += r.ms.postprocess;
        inferenceMs += r.ms.preprocess + r.ms.inference + r.ms.postprocess;
        const ref = this.target.imageRefs[i];
        results.push({ image: { seriesInstanceUID: ref.seriesInstanceUID, sopInstanceUID: ref.sopInstanceUID, frameNumber: ref.frameNumber }, columns, rows, detections: r.detections });
        if (!this.timedOut) this.update({ done: i + 1 });
      }
      at('slicesDoneAt');
      Object.assign(phases, { waitSlicesMs: round(waitMs), workerPreprocessMs: round(worker.preprocess), workerInferenceMs: round(worker.inference), workerPostprocessMs: round(worker.postprocess) });
      const totalMs = performance.now() - t0;
      const timingsMs = { sessionMs: round(engine.sessionMs), perSliceMs: round(inferenceMs / imageIds.length), inferenceMs: round(inferenceMs), totalMs: round(totalMs) };
      // Outside the model's domain (src/core/ai/domain.ts, the rule the pre-read applies): no findings, the reason shown.
      const inDomain = pixels.verdict();
      if (!inDomain.ok) {
        if (this.timer) clearTimeout(this.timer);
        return this.update({ state: 'skipped', message: inDomain.reason, refusedBy: 'browser' });
      }
      const findings = toFindings({ manifest: chosen, studyInstanceUID, slices: results, provider: engine.provider, timingsMs, source: 'client', createdAt: new Date().toISOString() });
      if (this.timer) clearTimeout(this.timer);
      const timings = { sessionMs: engine.sessionMs, perSliceMs: inferenceMs / imageIds.length, totalMs };
      if (this.timedOut) {
        this.late = findings;
        this.lateMeta = { model: chosen, provider: engine.provider, timingsMs };
        return this.update({ state: 'unavailable', lateReady: true, findings: findings.length, timings });
      }
      await this.publish(findings, chosen, engine.provider, timingsMs);
      at('publishedAt');
      performance.mark('ai:done');
      this.update({ state: 'done', done: imageIds.length, findings: findings.length, timings: { ...timings, phases } });
    } catch (e) {
      if (this.timer) clearTimeout(this.timer);
      if (this.cancelled || (e as AiError).code === 'cancelled') return;
      this.update({ state: 'error', message: (e as Error).message });
    }
  }

  /** The reader asked for results that came after the limit. */
  async showLate(): Promise<void> {
    if (!this.late || !this.lateMeta) return;
    const { model, provider, timingsMs } = this.lateMeta;
    await this.publish(this.late, model, provider, timingsMs);
    this.update({ state: 'done', lateReady: false, done: this.target.imageIds.length });
  }

  private async publish(findings: Finding[], model: RegistryEntry, provider: Provider, timingsMs: Record<string, number>): Promise<void> {
    if (!this.live()) return;
    const res = await apiFetch(`/api/studies/${this.target.studyInstanceUID}/ai-results`, {
      method: 'POST',
      body: JSON.stringify({ model: { name: model.name, version: model.version }, provider, timingsMs, findings }),
    });
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: string; details?: string[] };
      throw new Error(`results not stored (${res.status}): ${body.error ?? ''} ${(body.details ?? []).slice(0, 2).join('; ')}`.trim());
    }
    if (this.live()) await loadFindings(this.target.studyInstanceUID);
  }
}

const round = (v: number) => Math.round(v * 100) / 100;
const refusal = (d: { reason: string; model?: string }) => (d.model ? `${d.reason} (${d.model})` : d.reason);

let current: StudyRun | null = null;

/** Start AI for a study (cancelling any other run); returns the run. */
export function startStudyRun(target: RunTarget): StudyRun {
  current?.cancel();
  current = new StudyRun(target);
  void current.start();
  return current;
}

export function cancelStudyRun(studyUID?: string): void {
  if (!current || (studyUID && current.target.studyInstanceUID !== studyUID)) return;
  current.cancel();
  current = null;
  setAiStatus({ state: 'idle', studyUID: null, done: 0, total: 0 });
}

export function currentRun(): StudyRun | null {
  return current;
}
