/**
 * npm run bench:ai: per demo model, milliseconds per slice (median, p95) and per study in Node and
 * in Chromium (WASM 2 threads, WASM 1 thread, WebGPU where a real adapter exists), session
 * creation time, peak memory and the provider actually used.
 *
 * Node: gateway/ai/runtime.ts on the real shared DICOM (28-slice head CT; the one-image chest CR).
 * Chromium: the production build behind the real gateway; per-slice figures from the AI worker on
 * the same preprocessed tensors, per-study figures from the viewer's own run. The clocks are
 * printed with the table (CLOCKS below). Options: --runs N (default 5), --json FILE, --skip-browser,
 * --model NAME and --threads N (one model, one WASM configuration: for quick A/B runs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, CHEST_CR, headCtFiles } from './lib/demo-data.js';
import { loadModel, readDicomSlice, runModelOnSlices, type DicomSlice } from '../gateway/ai/runtime.js';
import { preprocess } from '../src/core/ai/processing.js';

const args = process.argv.slice(2);
const opt = (k: string) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : undefined;
};
const RUNS = Number(opt('--runs') ?? 5);
const JSON_OUT = opt('--json');
const SKIP_BROWSER = args.includes('--skip-browser');
/** --model NAME: one model only; --threads N: one WASM configuration only (quicker A/B runs). */
const ONLY_MODEL = opt('--model');
const ONLY_THREADS = opt('--threads') === undefined ? undefined : Number(opt('--threads'));

const MODELS: { name: string; files: () => string[] }[] = [
  { name: 'head-ct-hyperdensity', files: headCtFiles },
  { name: 'chest-cr-nodule', files: () => [CHEST_CR] },
].filter((m) => !ONLY_MODEL || m.name === ONLY_MODEL);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
};
const r1 = (v: number) => Math.round(v * 10) / 10;

const CLOCKS = `Per-study clocks (Chromium rows):
  study p50/p95 (as in earlier runs): from the AI run's start to "AI done": the run starts when the viewer
    lets AI start (first interactive image on screen, polled every 50 ms) and ends when the results are
    stored by the gateway and the findings reloaded. Indication check, registry fetch, onnxruntime start
    (worker, WebAssembly compile, threads), session, reading the pixels from Cornerstone's cache (fetching
    and decoding any not there yet), pre-processing, inference, decoding and upload are all inside it.
    Fresh page each run (new worker: onnxruntime starts from scratch; HTTP and code caches warm).
  open→done p50: from navigation start of that fresh page (study link opened: page load, log-in check,
    first image, viewer load, then all of the above) to the same "AI done".
  same-tab p50 / same-tab open→done p50: the same study opened again in the same tab (in-app
    navigation, as when reading one study after another): onnxruntime and the session are already
    running. Clock A as above; open→done from the in-app navigation to "AI done".
Per-slice figures: inference alone in the worker on preprocessed tensors (no pre/post-processing).`;

interface Row {
  model: string;
  runtime: string;
  provider: string;
  slices: number;
  sessionMs: number;
  perSliceMedianMs: number;
  perSliceP95Ms: number;
  perStudyMedianMs: number;
  perStudyP95Ms: number;
  /** Chromium: navigation start of a fresh page → AI done. */
  openToDoneMedianMs?: number;
  /** Chromium: same study re-opened in the same tab (engine warm): run start → done, and in-app navigation → done. */
  sameTabStudyMedianMs?: number;
  sameTabOpenToDoneMedianMs?: number;
  /** Median of the viewer run's phase marks (ms from the run's start) and components. */
  phases?: Record<string, number>;
  peakMemoryMB: number | null;
  note?: string;
}

async function benchNode(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const m of MODELS) {
    const dir = path.join(REPO_ROOT, 'models', m.name);
    const slices: DicomSlice[] = m.files().map((f) => readDicomSlice(fs.readFileSync(f)));
    let peak = process.memoryUsage().rss;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const t0 = performance.now();
    const model = await loadModel(dir, { noCache: true, numThreads: 1 });
    const sessionMs = performance.now() - t0;
    await runModelOnSlices(model, slices.slice(0, 1)); // warm-up
    const perSlice: number[] = [];
    const perStudy: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const s0 = performance.now();
      for (const s of slices) {
        const t = performance.now();
        await runModelOnSlices(model, [s]);
        perSlice.push(performance.now() - t);
      }
      perStudy.push(performance.now() - s0);
    }
    clearInterval(sample);
    await model.session.release();
    rows.push({
      model: m.name,
      runtime: 'node (onnxruntime-web wasm, 1 thread)',
      provider: model.provider,
      slices: slices.length,
      sessionMs: r1(sessionMs),
      perSliceMedianMs: r1(quantile(perSlice, 0.5)),
      perSliceP95Ms: r1(quantile(perSlice, 0.95)),
      perStudyMedianMs: r1(quantile(perStudy, 0.5)),
      perStudyP95Ms: r1(quantile(perStudy, 0.95)),
      peakMemoryMB: r1(peak / 2 ** 20),
      note: 'pre/post-processing included; DICOM parsing not',
    });
  }
  return rows;
}

async function benchBrowser(): Promise<Row[]> {
  const { ensureBuilt, DIST, loginInBrowser } = await import('../e2e/lib/stack.js');
  const { launchBrowser } = await import('../e2e/lib/browser.js');
  const { startStack } = await import('../test/harness.js');
  ensureBuilt();
  const ct = headCtFiles();
  const stack = await startStack({ files: [...ct, CHEST_CR], staticDir: DIST });
  const rows: Row[] = [];
  const b = await launchBrowser({ viewport: { width: 1400, height: 900 } });
  try {
    const page = b.page;
    await loginInBrowser(page, stack.baseUrl, 'rita');
    const headStudy = readDicomSlice(fs.readFileSync(ct[0])).studyInstanceUID;
    const chestStudy = readDicomSlice(fs.readFileSync(CHEST_CR)).studyInstanceUID;
    await page.goto(`${stack.baseUrl}/viewer/${headStudy}?ai=0`);
    await page.waitForFunction(() => !!(window as unknown as { __rsAi?: unknown }).__rsAi, null, { timeout: 60_000 });
    const webgpu = await page.evaluate(() => (window as unknown as { __rsAi: { chooseProvider(o: object): Promise<{ provider: string; why: string }> } }).__rsAi.chooseProvider({}));
    const all: { provider: 'wasm' | 'webgpu'; threads: number }[] = [
      { provider: 'wasm', threads: 2 },
      { provider: 'wasm', threads: 1 },
      ...(webgpu.provider === 'webgpu' ? [{ provider: 'webgpu' as const, threads: 1 }] : []),
    ];
    const configs = all.filter((c) => ONLY_THREADS === undefined || (c.provider === 'wasm' && c.threads === ONLY_THREADS));
    for (const m of MODELS) {
      const model = await loadModel(path.join(REPO_ROOT, 'models', m.name));
      const slices = m.files().map((f) => readDicomSlice(fs.readFileSync(f)));
      // Four slices spread over the study (each runTensor call builds a fresh worker + session).
      const pick = slices.length <= 4 ? slices : [0.2, 0.4, 0.6, 0.8].map((q) => slices[Math.floor(q * slices.length)]);
      const tensors = pick.map((s) => Array.from(preprocess(s, model.manifest.input)));
      const study = m.name === 'head-ct-hyperdensity' ? headStudy : chestStudy;
      for (const c of configs) {
        // Per slice: the worker on the preprocessed tensors, RUNS passes over the study's slices.
        const per = await page.evaluate(
          async ([name, provider, threads, data, runs]) => {
            const hook = (window as unknown as { __rsAi: { runTensor(m: string, p: string, d: number[], o: object): Promise<{ runMs: number[]; sessionMs: number; provider: string }> } }).__rsAi;
            const ms: number[] = [];
            let sessionMs = 0;
            let used = '';
            for (const d of data as number[][]) {
              const r = await hook.runTensor(name as string, provider as string, d, { threads, repeat: runs });
              ms.push(...r.runMs.slice(1)); // first run of a fresh session is warm-up
              sessionMs = r.sessionMs;
              used = r.provider;
            }
            const mem = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null;
            return { ms, sessionMs, used, mem };
          },
          [m.name, c.provider, c.threads, tensors, Math.max(3, RUNS + 1)] as const,
        );
        // Per study: the viewer's own run (fresh page each time), then re-opened in the same tab.
        type Done = { state: string; message?: string; timings?: { totalMs: number; phases?: Record<string, number> } };
        const waitDone = async () => {
          const s = (await page.waitForFunction(
            () => {
              const st = (window as unknown as { __rsAi?: { status(): { state: string } } }).__rsAi?.status();
              return st && ['done', 'error', 'skipped', 'unavailable'].includes(st.state) ? st : null;
            },
            null,
            { timeout: 120_000, polling: 50 },
          ).then((h) => h.jsonValue())) as Done;
          if (s.state !== 'done') throw new Error(`${m.name} ${c.provider}: viewer AI ended ${s.state}: ${s.message ?? ''}`);
          return s;
        };
        const lastDoneMark = () => page.evaluate(() => performance.getEntriesByName('ai:done').at(-1)!.startTime);
        const viewerUrl = `/viewer/${study}?aiProvider=${c.provider}&aiThreads=${c.threads}&aiLimitMs=120000`;
        const studies: number[] = [];
        const openToDone: number[] = [];
        const phaseRuns: Record<string, number>[] = [];
        for (let r = 0; r < Math.min(RUNS, 3); r++) {
          await stack.gateway.store.db.deleteFrom('findings').execute();
          await page.goto(stack.baseUrl + viewerUrl);
          const s = await waitDone();
          studies.push(s.timings!.totalMs);
          openToDone.push(await lastDoneMark()); // marks count from the page's navigation start
          if (s.timings!.phases) phaseRuns.push(s.timings!.phases);
        }
        const sameTab: number[] = [];
        const sameTabOpen: number[] = [];
        for (let r = 0; r < Math.min(RUNS, 3); r++) {
          await stack.gateway.store.db.deleteFrom('findings').execute();
          const go = (url: string) => page.evaluate((u) => {
            history.pushState(null, '', u);
            dispatchEvent(new PopStateEvent('popstate'));
            return performance.now();
          }, url);
          await go('/');
          await page.waitForFunction(() => (window as unknown as { __rsAi: { status(): { state: string } } }).__rsAi.status().state === 'idle', null, { timeout: 30_000 });
          const t = await go(viewerUrl);
          const s = await waitDone();
          sameTab.push(s.timings!.totalMs);
          sameTabOpen.push((await lastDoneMark()) - t);
        }
        const phases: Record<string, number> = {};
        for (const k of Object.keys(phaseRuns[0] ?? {})) phases[k] = r1(quantile(phaseRuns.map((p) => p[k] ?? NaN), 0.5));
        rows.push({
          model: m.name,
          runtime: `chromium (${c.provider}${c.provider === 'wasm' ? `, ${c.threads} thread${c.threads > 1 ? 's' : ''}` : ''})`,
          provider: per.used,
          slices: slices.length,
          sessionMs: r1(per.sessionMs),
          perSliceMedianMs: r1(quantile(per.ms, 0.5)),
          perSliceP95Ms: r1(quantile(per.ms, 0.95)),
          perStudyMedianMs: r1(quantile(studies, 0.5)),
          perStudyP95Ms: r1(quantile(studies, 0.95)),
          openToDoneMedianMs: r1(quantile(openToDone, 0.5)),
          sameTabStudyMedianMs: r1(quantile(sameTab, 0.5)),
          sameTabOpenToDoneMedianMs: r1(quantile(sameTabOpen, 0.5)),
          phases,
          peakMemoryMB: per.mem === null ? null : r1(per.mem / 2 ** 20),
          note: 'per slice: inference in the worker; per study: see the clocks printed with the table; memory: page JS heap only',
        });
      }
    }
    if (webgpu.provider !== 'webgpu') rows.push({ model: '*', runtime: 'chromium (webgpu)', provider: '-', slices: 0, sessionMs: NaN, perSliceMedianMs: NaN, perSliceP95Ms: NaN, perStudyMedianMs: NaN, perStudyP95Ms: NaN, peakMemoryMB: null, note: `not run: ${webgpu.why}` });
  } finally {
    await b.close();
    await stack.stop();
  }
  return rows;
}

const rows = await benchNode();
if (!SKIP_BROWSER) rows.push(...(await benchBrowser()));
const header = ['model', 'runtime', 'provider', 'slices', 'session ms', 'slice p50', 'slice p95', 'study p50', 'study p95', 'open→done p50', 'same-tab p50', 'same-tab open→done p50', 'peak MB'];
const f = (v: number | undefined) => (v === undefined ? '-' : v);
console.log(header.join(' | '));
for (const r of rows) console.log([r.model, r.runtime, r.provider, r.slices, r.sessionMs, r.perSliceMedianMs, r.perSliceP95Ms, r.perStudyMedianMs, r.perStudyP95Ms, f(r.openToDoneMedianMs), f(r.sameTabStudyMedianMs), f(r.sameTabOpenToDoneMedianMs), r.peakMemoryMB ?? '-'].join(' | ') + (r.note?.startsWith('not run') ? `  (${r.note})` : ''));
console.log('\nNode rows: study = the 28 (or 1) slices back to back after a warm-up slice, pre/post-processing included, DICOM parsing not.');
console.log(CLOCKS);
const phaseRows = rows.filter((r) => r.phases && Object.keys(r.phases).length);
if (phaseRows.length) {
  console.log('\nWhere the fresh-page run goes (medians; "…At" = ms after the run started; engine.* = worker-side creation steps):');
  for (const r of phaseRows) console.log(`  ${r.model} ${r.runtime}: ${Object.entries(r.phases!).map(([k, v]) => `${k}=${v}`).join(' ')}`);
}
if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify({ at: new Date().toISOString(), runs: RUNS, rows }, null, 2));
process.exit(0);
