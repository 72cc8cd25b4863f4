/**
 * Client-side AI in real Chromium against the production build, the real gateway and Orthanc.
 *
 * The head CT in the PACS here is the shared GE head CT with the committed held-out synthetic
 * lesions (models/head-ct-hyperdensity/heldout.json, the first case of each held-out slice) written
 * into its pixel data; every other byte of every file is the original. The real series has no
 * haemorrhage, so without them there would be nothing for boxes to appear on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ensureBuilt, DIST, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { startStack, login, waitFor, type Stack } from '../test/harness.js';
import { execFileSync } from 'node:child_process';
import { newUid } from '../gateway/preread/study-builder.js';
import { DICOM, REPO_ROOT, headCtFiles, mrSeriesFiles } from '../scripts/lib/demo-data.js';
import { loadHeldout } from '../gateway/ai/heldout.js';
import { loadModel, readDicomSlice } from '../gateway/ai/runtime.js';
import { preprocess } from '../src/core/ai/processing.js';
import * as ort from 'onnxruntime-web';

const HEAD_MODEL = path.join(REPO_ROOT, 'models', 'head-ct-hyperdensity');
let stack: Stack;
let tmp: string;
let modelsDir: string;
let study: string;
let lesionSops: string[] = [];
let mrStudy: string;
/** The lesion series as a CT perfusion map would be labelled: ImageType DERIVED\SECONDARY\PERFUSION, new UIDs. */
let perfusionStudy: string;
let perfusionSeries: string;
const PERFUSION_REASON = 'outside input domain: image type DERIVED\\SECONDARY\\PERFUSION is not ORIGINAL\\PRIMARY';

/** Write held-out lesions into copies of the real head CT files (pixel data is the file's last element). */
function buildLesionSeries(dir: string): string[] {
  const held = JSON.parse(fs.readFileSync(path.join(HEAD_MODEL, 'heldout.json'), 'utf8')) as { cases: { file: string; deltas: { x: number; y: number; width: number; height: number; int16: string }[] }[] };
  const firstPerFile = new Map<string, (typeof held.cases)[number]>();
  for (const c of held.cases) if (!firstPerFile.has(c.file)) firstPerFile.set(c.file, c);
  return headCtFiles().map((src) => {
    const rel = path.relative(DICOM, src);
    const out = path.join(dir, path.basename(src));
    const bytes = fs.readFileSync(src);
    const c = firstPerFile.get(rel);
    if (c) {
      const s = readDicomSlice(bytes);
      const n = s.rows * s.columns;
      const off = bytes.length - n * 2;
      if (bytes.readUInt32LE(off - 4) !== n * 2 || bytes.readUInt16LE(off - 12) !== 0x7fe0) throw new Error(`${rel}: pixel data is not the last element`);
      for (const d of c.deltas) {
        const delta = Buffer.from(d.int16, 'base64');
        for (let y = 0; y < d.height; y++)
          for (let x = 0; x < d.width; x++) {
            const p = off + ((d.y + y) * s.columns + d.x + x) * 2;
            bytes.writeInt16LE(bytes.readInt16LE(p) + delta.readInt16LE((y * d.width + x) * 2), p);
          }
      }
      lesionSops.push(s.sopInstanceUID);
    }
    fs.writeFileSync(out, bytes);
    return out;
  });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-ai-e2e-'));
  fs.mkdirSync(path.join(tmp, 'ct'));
  // A private copy of the registry: one test corrupts a model file.
  modelsDir = path.join(tmp, 'models');
  fs.cpSync(path.join(REPO_ROOT, 'models'), modelsDir, { recursive: true, filter: (p) => !p.endsWith('.py') && !p.includes('__pycache__') });
  const ct = buildLesionSeries(path.join(tmp, 'ct'));
  study = readDicomSlice(fs.readFileSync(ct[0])).studyInstanceUID;
  // The same pixels (lesions included: a run would find them) labelled as a perfusion map.
  fs.mkdirSync(path.join(tmp, 'perfusion'));
  const perfusion = ct.map((f) => {
    const to = path.join(tmp, 'perfusion', path.basename(f));
    fs.copyFileSync(f, to);
    return to;
  });
  [perfusionStudy, perfusionSeries] = [newUid(), newUid()];
  execFileSync('dcmodify', ['-nb', '-gin', '-m', `(0020,000d)=${perfusionStudy}`, '-m', `(0020,000e)=${perfusionSeries}`, '-i', '(0008,0008)=DERIVED\\SECONDARY\\PERFUSION', '-i', '(0008,103e)=CT perfusion CBF map', ...perfusion], { stdio: 'pipe' });
  mrStudy = readDicomSlice(fs.readFileSync(mrSeriesFiles()[0])).studyInstanceUID;
  ensureBuilt();
  stack = await startStack({ files: [...ct, ...mrSeriesFiles(), ...perfusion], staticDir: DIST, config: { modelsDir } });
});

afterAll(async () => {
  await stack?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The head CT model's critical class threshold (its manifest), for the heatmap check. */
const THRESHOLD = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'models', 'head-ct-hyperdensity', 'manifest.json'), 'utf8')) as { output: { classes: { threshold: number }[] } }).output.classes[0].threshold;

type AiStatus = { state: string; provider?: string; numThreads?: number; done: number; total: number; message?: string; timings?: { perSliceMs: number; totalMs: number }; findings?: number; lateReady?: boolean };
type VState = { imageIndex: number; imageCount: number; activeSopInstanceUID: string | null; firstImageShown: boolean };
type FState = { findings: { id: string; source: string; regions: { image: { sopInstanceUID: string } }[] }[]; marks: { id: string }[] };

const aiStatus = (page: Page) => page.evaluate(() => (window as unknown as { __rsAi: { status(): unknown } }).__rsAi.status()) as Promise<AiStatus>;
const vstate = (page: Page) => page.evaluate(() => (window as unknown as { __viewer?: { getState(): unknown } }).__viewer?.getState() ?? null) as Promise<VState | null>;
const fstate = (page: Page) => page.evaluate(() => (window as unknown as { __findings?: { getState(): unknown } }).__findings?.getState() ?? null) as Promise<FState | null>;

async function until<T>(page: Page, what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000, stepMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await fn();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await page.waitForTimeout(stepMs);
    v = await fn();
  }
  return v;
}

/**
 * What an earlier AI run leaves in the browser: the modalities its registry covered. With it the
 * viewer starts onnxruntime while it fetches the registry (the usual case); without it (a fresh
 * profile) only after the indication check.
 */
const SEEN_REGISTRY = async (page: Page) => page.evaluate(() => localStorage.setItem('rs.ai.registryModalities', JSON.stringify(['CT', 'CR', 'DX'])));

async function withBrowser<T>(fn: (page: Page, b: LaunchedBrowser) => Promise<T>, extraArgs: string[] = [], opts: { seenRegistry?: boolean } = {}): Promise<T> {
  // Each test starts from a study without AI results.
  await stack.gateway.store.db.deleteFrom('findings').execute();
  const b = await launchBrowser({ viewport: { width: 1400, height: 900 }, extraArgs });
  try {
    b.page.on('pageerror', (e) => console.error('[page error]', e.message));
    await loginInBrowser(b.page, stack.baseUrl, 'rita');
    if (opts.seenRegistry) await SEEN_REGISTRY(b.page);
    return await fn(b.page, b);
  } finally {
    await b.close();
  }
}

describe('client AI in the viewer', () => {
  it('runs in the worker slice by slice while the reader scrolls; boxes appear; provider and timings reported', async () => {
    await withBrowser(async (page) => {
      const wasm: { type: string | null; cache: string | null }[] = [];
      page.on('response', (r) => {
        if (r.url().endsWith('/ort/ort-wasm-simd-threaded.wasm')) wasm.push({ type: r.headers()['content-type'] ?? null, cache: r.headers()['cache-control'] ?? null });
      });
      // A slow model (300 ms per slice) gives time to scroll during inference; the limit stays far away.
      await page.goto(`${stack.baseUrl}/viewer/${study}?aiSlowMs=300&aiLimitMs=60000`);
      await until(page, 'first image', () => vstate(page), (v) => !!v?.firstImageShown, 60_000);
      const running = await until(page, 'AI running', () => aiStatus(page), (s) => s.state === 'running' && s.done >= 1 && s.done < s.total - 5, 60_000, 20);
      expect(running.provider).toBe('wasm');
      // AI waits for the reader: neither onnxruntime's start nor the run began before every slice of
      // the opening series was decoded.
      const marks = await page.evaluate(() => performance.getEntriesByType('mark').map((m) => [m.name, m.startTime] as const));
      const at = (name: string) => marks.filter(([n]) => n === name).map(([, t]) => t);
      const cachedAt = at('viewer:stack-cached')[0];
      expect(cachedAt).toBeGreaterThan(0);
      expect(at('ai:start').length).toBe(1);
      expect(at('ai:runtime-start').length).toBeGreaterThanOrEqual(1);
      for (const t of [...at('ai:start'), ...at('ai:runtime-start')]) expect(t).toBeGreaterThanOrEqual(cachedAt);
      await expect(page.getByTestId('ai-status-text').textContent()).resolves.toMatch(/^AI wasm×2 \d+\/28$/);
      expect(await page.getByTestId('ai-progress').count()).toBe(1);

      // Scroll while inference runs: every key press moves the image at once.
      await page.getByTestId('viewport').click({ position: { x: 5, y: 5 } });
      const before = (await vstate(page))!.imageIndex;
      const lags: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = Date.now();
        await page.keyboard.press(before < 14 ? 'ArrowDown' : 'ArrowUp');
        await until(page, 'scroll step', () => vstate(page), (v) => Math.abs(v!.imageIndex - before) === i + 1, 5_000, 5);
        lags.push(Date.now() - t0);
      }
      expect((await aiStatus(page)).state).toBe('running'); // scrolling happened during inference
      // Each step includes fetching and decoding the next slice on a shared 2-core box: bound the
      // typical step, and allow an outlier, rather than time a single one.
      const sorted = [...lags].sort((a, b) => a - b);
      expect(sorted[2], `scroll step lags ${lags.join(', ')} ms`).toBeLessThan(1000);
      expect(sorted[4], `scroll step lags ${lags.join(', ')} ms`).toBeLessThan(3000);
      // The main thread never loaded onnxruntime: it lives in the worker.
      expect(await page.evaluate(() => typeof (globalThis as { ort?: unknown }).ort)).toBe('undefined');

      const done = await until(page, 'AI done', () => aiStatus(page), (s) => s.state === 'done' || s.state === 'error', 120_000);
      expect(done.state).toBe('done');
      expect(done.done).toBe(28);
      expect(done.numThreads).toBe(2);
      expect(done.timings!.perSliceMs).toBeGreaterThan(0);
      expect(done.findings).toBeGreaterThanOrEqual(3);
      await expect(page.getByTestId('ai-status-text').textContent()).resolves.toMatch(/^AI wasm×2 28\/28 · \d+ findings · \d+ ms\/slice, \d+ ms$/);
      expect(wasm[0]).toEqual({ type: 'application/wasm', cache: 'public, max-age=31536000, immutable' });

      // The findings came back from the gateway with provider and timings, on the lesion slices.
      const f = await until(page, 'client findings', () => fstate(page), (s) => !!s && s.findings.some((x) => x.source === 'client'), 20_000);
      const client = f!.findings.filter((x) => x.source === 'client');
      expect(client.length).toBe(done.findings);
      const stored = await stack.gateway.store.db.selectFrom('findings').select(['id', 'body']).where('source', '=', 'client').execute();
      expect(stored.map((x) => x.id).sort()).toEqual(client.map((x) => x.id).sort());
      for (const x of stored) {
        const model = (JSON.parse(x.body) as { model: { name: string; executionProvider?: string; timingsMs?: Record<string, number> } }).model;
        expect(model.name).toBe('head-ct-hyperdensity');
        expect(model.executionProvider).toBe('wasm');
        expect(model.timingsMs?.perSliceMs).toBeGreaterThan(0);
      }
      const onLesionSlices = client.filter((x) => x.regions.some((r) => lesionSops.includes(r.image.sopInstanceUID)));
      expect(onLesionSlices.length).toBeGreaterThanOrEqual(3);
      // Normal anatomy (skull base, vertex) is not marked: at most two findings off the lesion slices.
      expect(client.length - onLesionSlices.length).toBeLessThanOrEqual(2);
      // Boxes drawn: go to a lesion slice and see a mark.
      const target = onLesionSlices[0].regions[0].image.sopInstanceUID;
      await page.getByTestId('viewport').click({ position: { x: 5, y: 5 } });
      await page.keyboard.press('Home');
      for (let i = 0; i < 30 && (await vstate(page))!.activeSopInstanceUID !== target; i++) {
        await page.keyboard.press('ArrowDown');
        await page.waitForTimeout(40);
      }
      await until(page, 'AI box drawn', () => fstate(page), (s) => !!s && s.marks.some((m) => onLesionSlices.some((x) => x.id === m.id)), 10_000);
      // Each finding carries the model's own class map on its slices (its explanation), stored with it
      // and drawn on the slice: peak on the finding's box, where the model saw it.
      for (const x of stored) {
        const body = JSON.parse(x.body) as { regions: { image: { sopInstanceUID: string }; box: { x: number; y: number; width: number; height: number } }[]; heatmaps?: { image: { sopInstanceUID: string }; width: number; height: number; values: number[] }[] };
        expect(body.heatmaps?.map((h) => h.image.sopInstanceUID)).toEqual(body.regions.map((r) => r.image.sopInstanceUID));
        // Inside the finding's box the map reaches the class's threshold: the model saw it there.
        const h = body.heatmaps![0];
        const b = body.regions[0].box;
        const [sx, sy] = [512 / h.width, 512 / h.height];
        let inBox = 0;
        for (let y = Math.floor(b.y / sy); y <= Math.min(h.height - 1, Math.floor((b.y + b.height) / sy)); y++)
          for (let x = Math.floor(b.x / sx); x <= Math.min(h.width - 1, Math.floor((b.x + b.width) / sx)); x++) inBox = Math.max(inBox, h.values[y * h.width + x]);
        expect(inBox, `map inside ${JSON.stringify(b)}`).toBeGreaterThanOrEqual(THRESHOLD - 0.001);
      }
      await page.keyboard.press('h'); // explanations on demand
      await until(page, 'heatmap drawn', () => page.evaluate(() => (window as unknown as { __findings: { getState(): { heatmapsDrawn: number } } }).__findings.getState().heatmapsDrawn), (n) => n >= 1, 10_000);
      // And the gateway audited the results.
      const audit = await stack.gateway.store.db.selectFrom('audit').select(['actor', 'detail']).where('action', '=', 'ai-results-received').execute();
      expect(audit.some((a) => a.actor === 'rita' && JSON.parse(a.detail!).provider === 'wasm')).toBe(true);
    }, [], { seenRegistry: true });
  });

  it('browser (WASM, 2 threads) and Node give the same output to 1e-5', async () => {
    const model = await loadModel(HEAD_MODEL);
    const { cases } = loadHeldout(HEAD_MODEL, DICOM);
    const input = preprocess(cases[0].slice, model.manifest.input);
    const out = await model.session.run({ input: new ort.Tensor('float32', input, [1, 1, 256, 256]) });
    const node = out.heatmap.data as Float32Array;
    await withBrowser(async (page) => {
      await page.goto(`${stack.baseUrl}/viewer/${mrStudy}?ai=0`);
      await until(page, 'AI hook', () => page.evaluate(() => !!(window as unknown as { __rsAi?: unknown }).__rsAi), (v) => v, 60_000);
      const r = await page.evaluate(
        ([data]) => (window as unknown as { __rsAi: { runTensor(m: string, p: string, d: number[], o: object): Promise<{ output: number[]; provider: string; numThreads: number; crossOriginIsolated: boolean }> } }).__rsAi.runTensor('head-ct-hyperdensity', 'wasm', data, { threads: 2 }),
        [Array.from(input)] as const,
      );
      expect(r.provider).toBe('wasm');
      expect(r.crossOriginIsolated).toBe(true);
      expect(r.numThreads).toBe(2);
      expect(r.output.length).toBe(node.length);
      let max = 0;
      for (let i = 0; i < node.length; i++) max = Math.max(max, Math.abs(r.output[i] - node[i]));
      expect(max).toBeLessThanOrEqual(1e-5);
    });
  });

  it('WebGPU (software adapter, asked for) gives the WASM output within tolerance', async () => {
    await withBrowser(
      async (page) => {
        await page.goto(`${stack.baseUrl}/viewer/${mrStudy}?ai=0`);
        await until(page, 'AI hook', () => page.evaluate(() => !!(window as unknown as { __rsAi?: unknown }).__rsAi), (v) => v, 60_000);
        const adapter = await page.evaluate(async () => {
          const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean; vendor?: string } } | null> } }).gpu;
          const a = await gpu?.requestAdapter();
          return a ? { fallback: a.info?.isFallbackAdapter ?? null, vendor: a.info?.vendor ?? '' } : null;
        });
        expect(adapter, 'Chromium with --enable-unsafe-webgpu exposes a WebGPU adapter here').not.toBeNull();
        // The provider choice never picks a software adapter unless asked.
        const choice = await page.evaluate(() => (window as unknown as { __rsAi: { chooseProvider(o: object): Promise<{ provider: string }> } }).__rsAi.chooseProvider({}));
        expect(choice.provider).toBe(adapter!.fallback ? 'wasm' : 'webgpu');
        // A small input: the head model on one held-out slice (correctness only, never timed).
        const model = await loadModel(HEAD_MODEL);
        const input = preprocess(loadHeldout(HEAD_MODEL, DICOM).cases[1].slice, model.manifest.input);
        const [gpu, cpu] = await page.evaluate(async ([data]) => {
          const hook = (window as unknown as { __rsAi: { runTensor(m: string, p: string, d: number[], o: object): Promise<{ output: number[]; provider: string }> } }).__rsAi;
          return [await hook.runTensor('head-ct-hyperdensity', 'webgpu', data, { allowFallbackAdapter: true }), await hook.runTensor('head-ct-hyperdensity', 'wasm', data, { threads: 1 })];
        }, [Array.from(input)] as const);
        expect(gpu.provider).toBe('webgpu');
        let max = 0;
        for (let i = 0; i < cpu.output.length; i++) max = Math.max(max, Math.abs(gpu.output[i] - cpu.output[i]));
        expect(max).toBeLessThan(1e-3);
      },
      ['--enable-unsafe-webgpu'],
    );
  });

  it('a corrupt model file gives the error status and the study still reads', async () => {
    const file = path.join(modelsDir, 'head-ct-hyperdensity', 'model.onnx');
    const good = fs.readFileSync(file);
    const bad = Buffer.from(good);
    for (let i = 200; i < bad.length; i += 97) bad[i] ^= 0xff;
    fs.writeFileSync(file, bad);
    try {
      await withBrowser(async (page) => {
        await page.goto(`${stack.baseUrl}/viewer/${study}`);
        await until(page, 'first image', () => vstate(page), (v) => !!v?.firstImageShown, 60_000);
        const s = await until(page, 'AI error', () => aiStatus(page), (x) => x.state === 'error', 60_000);
        expect(s.message).toMatch(/model file corrupt/);
        await expect(page.getByTestId('ai-status-text').textContent()).resolves.toMatch(/^AI error: model file corrupt.*reading continues without AI$/);
        await page.getByTestId('viewport').click({ position: { x: 5, y: 5 } });
        const i0 = (await vstate(page))!.imageIndex;
        await page.keyboard.press(i0 < 14 ? 'ArrowDown' : 'ArrowUp');
        await until(page, 'scroll after AI error', () => vstate(page), (v) => v!.imageIndex !== i0, 5_000);
      }, [], { seenRegistry: true });
    } finally {
      fs.writeFileSync(file, good);
    }
  });

  it('an artificially slow model triggers the latency fallback; late results only when asked', async () => {
    await withBrowser(async (page) => {
      await page.goto(`${stack.baseUrl}/viewer/${study}?aiSlowMs=250&aiLimitMs=2500`);
      await until(page, 'first image', () => vstate(page), (v) => !!v?.firstImageShown, 60_000);
      const s = await until(page, 'fallback', () => aiStatus(page), (x) => x.state === 'unavailable', 30_000);
      expect(s.done).toBeLessThan(28);
      await expect(page.getByTestId('ai-status-text').textContent()).resolves.toBe('AI unavailable for this study, reading without AI');
      await until(page, 'late results ready', () => aiStatus(page), (x) => !!x.lateReady, 60_000);
      // Held back: nothing stored, nothing shown, until the reader asks.
      await page.waitForTimeout(500);
      expect((await fstate(page))!.findings.filter((x) => x.source === 'client')).toEqual([]);
      expect(await stack.gateway.store.db.selectFrom('findings').select('id').where('source', '=', 'client').execute()).toEqual([]);
      await page.getByTestId('ai-show-late').click();
      const done = await until(page, 'late results shown', () => aiStatus(page), (x) => x.state === 'done', 20_000);
      expect(done.findings).toBeGreaterThanOrEqual(3);
      await until(page, 'client findings shown', () => fstate(page), (f) => !!f && f.findings.filter((x) => x.source === 'client').length >= 3, 10_000);
    });
  });

  it('never runs a model outside its indication, and says why', async () => {
    await withBrowser(async (page) => {
      // onnxruntime starts ahead of the registry only for modalities the last registry covered:
      // with that hint present (as after any earlier AI run), an MR study must still start nothing.
      const aiRequests: string[] = [];
      page.on('request', (r) => {
        if (/\/(ort|models)\//.test(new URL(r.url()).pathname)) aiRequests.push(new URL(r.url()).pathname);
      });
      await SEEN_REGISTRY(page);
      await page.goto(`${stack.baseUrl}/viewer/${mrStudy}`);
      await until(page, 'first image', () => vstate(page), (v) => !!v?.firstImageShown, 60_000);
      const s = await until(page, 'AI skipped', () => aiStatus(page), (x) => x.state === 'skipped', 30_000);
      expect(s.message).toMatch(/^outside indication: modality MR not in /);
      await expect(page.getByTestId('ai-status-text').textContent()).resolves.toMatch(/^AI not run: outside indication: modality MR/);
      await page.waitForTimeout(500);
      expect(aiRequests).toEqual([]);
    });
  });
  it('never runs on a CT perfusion map (DERIVED\\SECONDARY): the browser says why, with the reason the server and the pre-read give', async () => {
    await withBrowser(
      async (page) => {
        const modelRequests: string[] = [];
        page.on('request', (r) => {
          if (new URL(r.url()).pathname.startsWith('/models/')) modelRequests.push(new URL(r.url()).pathname);
        });
        await page.goto(`${stack.baseUrl}/viewer/${perfusionStudy}`);
        await until(page, 'first image', () => vstate(page), (v) => !!v?.firstImageShown, 60_000);
        const s = await until(page, 'AI skipped', () => aiStatus(page), (x) => x.state === 'skipped' || x.state === 'done' || x.state === 'error', 60_000);
        expect(s.state).toBe('skipped');
        expect(s.message).toBe(`${PERFUSION_REASON} (head-ct-hyperdensity)`);
        await expect(page.getByTestId('ai-status-text').textContent()).resolves.toBe(`AI not run: ${PERFUSION_REASON} (head-ct-hyperdensity)`);
        await expect(page.getByTestId('ai-status').getAttribute('data-refused-by')).resolves.toBe('browser');
        // The server's verdict on the same series, and the pre-read's routing: the same reason, word for word.
        const rita = await login(stack.baseUrl, 'rita');
        const st = await rita.json<{ models: { name: string; eligible: boolean; eligibilityReason: string | null }[] }>(`/api/studies/${perfusionStudy}/ai-status?series=${perfusionSeries}`);
        expect(st.models.find((m) => m.name === 'head-ct-hyperdensity')).toMatchObject({ eligible: false, eligibilityReason: PERFUSION_REASON });
        const db = stack.gateway.store.db;
        const row = await waitFor('the pre-read to route the perfusion study', () => db.selectFrom('preread_studies').select('routing').where('study_uid', '=', perfusionStudy).executeTakeFirst(), 60_000);
        expect((JSON.parse(row.routing) as { model: string; decision: string; reason: string }[]).find((r) => r.model === 'head-ct-hyperdensity')).toMatchObject({ decision: 'skip', reason: PERFUSION_REASON });
        // Nothing ran, nothing was stored or drawn.
        await page.waitForTimeout(500);
        expect(modelRequests).toEqual([]);
        expect(await db.selectFrom('findings').select('id').where('study_uid', '=', perfusionStudy).execute()).toEqual([]);
        expect((await fstate(page))?.marks ?? []).toEqual([]);
      },
      [],
      { seenRegistry: true },
    );
  });

  it("the server's refusal stops the browser too: AI disabled for the study, the model is not run and the reason is shown", async () => {
    const rita = await login(stack.baseUrl, 'rita');
    expect((await rita.post(`/api/studies/${study}/ai-disabled`, { reason: 'research-protocol' })).status).toBe(201);
    try {
      await withBrowser(
        async (page) => {
          const modelRequests: string[] = [];
          page.on('request', (r) => {
            if (new URL(r.url()).pathname.startsWith('/models/')) modelRequests.push(new URL(r.url()).pathname);
          });
          await page.goto(`${stack.baseUrl}/viewer/${study}`);
          await until(page, 'first image', () => vstate(page), (v) => !!v?.firstImageShown, 60_000);
          const s = await until(page, 'AI skipped', () => aiStatus(page), (x) => x.state === 'skipped' || x.state === 'done' || x.state === 'error', 60_000);
          expect(s.state).toBe('skipped');
          expect(s.message).toMatch(/^AI disabled for this study by rita: Research protocol/);
          await expect(page.getByTestId('ai-status').getAttribute('data-refused-by')).resolves.toBe('server');
          expect(modelRequests).toEqual([]);
          expect(await stack.gateway.store.db.selectFrom('findings').select('id').where('source', '=', 'client').execute()).toEqual([]);
        },
        [],
        { seenRegistry: true },
      );
    } finally {
      await rita.fetch(`/api/studies/${study}/ai-disabled`, { method: 'DELETE' });
    }
  });
});
