/**
 * `npm run bench:viewer`: the viewer's cold-start and scroll performance, measured the way a reader
 * meets it: the production build served by the real gateway (pre-compressed assets, auth, DICOMweb
 * proxy) in front of a real Orthanc with the 28-slice head CT, a fresh Chromium profile per run.
 *
 *   npm run bench:viewer -- [--runs 5] [--cpu] [--json out.json] [--timeline]
 *   [DICOM_DIR=dir] npm run bench:viewer -- --slices 28,280,560 [--runs 3] [--no-extras]
 *     growth with the series length (built series, see growthMain), time to interactive, 2×2 and
 *     step latency with 10 measurements per slice
 *
 * Metrics (median over runs, with p95 across scroll frames):
 *   firstImageMs   navigation start -> performance.mark('viewer:first-image') (pixels on the canvas)
 *   reqs/bytes     requests started before the first image and their transferred bytes (app + DICOM)
 *   allFetchedMs   navigation start -> the last frame of the stack received (the anchor's "all loaded")
 *   allCachedMs    navigation start -> every slice of the stack decoded into Cornerstone's cache
 *   step scroll    27 ArrowDown presses, one at a time: key -> rendered frame latency
 *   burst scroll   27 ArrowDown presses back to back: interval between renders (one per key since a
 *                  step is drawn in its key's task; before, one per animation frame)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser } from '../e2e/lib/browser.js';
import { startE2EStack, DIST } from '../e2e/lib/stack.js';
import { login } from '../test/harness.js';
import { DICOM, headCtFiles } from './lib/demo-data.js';
import { buildLongSeries, type LongSeries } from './lib/long-series.js';

const HEAD_CT_STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';

function arg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = process.argv[i + 1];
  return v && !v.startsWith('--') ? v : 'true';
}

const runs = Math.max(1, Number(arg('runs', '5')));
const cpu = arg('cpu') === 'true';
const jsonOut = arg('json');
const timeline = arg('timeline') === 'true';

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const pct = (a: number[], p: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};

interface RunResult {
  firstImageMs: number;
  reqsToFirst: number;
  bytesToFirst: number;
  dicomBytesToFirst: number;
  appBytesToFirst: number;
  allCachedMs: number;
  allFetchedMs: number;
  firstBy: string;
  stepLatencyMedMs: number;
  stepLatencyP95Ms: number;
  burstFrameMedMs: number;
  burstFrameP95Ms: number;
  burstFps: number;
  canvasNonBlack: number;
  canvasInfo: string;
  annotationsShown: number;
}

// tsx (esbuild keepNames) wraps named functions inside page.evaluate callbacks with __name().
const INIT = `
  globalThis.__name = globalThis.__name || ((f) => f);
  window.__bench = { renders: [], keys: [] };
  document.addEventListener('CORNERSTONE_IMAGE_RENDERED', () => window.__bench.renders.push(performance.now()), true);
  window.addEventListener('keydown', (e) => window.__bench.keys.push(e.timeStamp), true);
`;

/** A fresh 1280×800 browser signed in with the session cookie (cold profile), with an optional init script. */
async function signedInBrowser(baseUrl: string, cookie: string, init?: string): Promise<Awaited<ReturnType<typeof launchBrowser>>> {
  const b = await launchBrowser({ viewport: { width: 1280, height: 800 } });
  const [name, value] = cookie.split('=');
  await b.context.addCookies([{ name, value, url: baseUrl }]);
  if (init) await b.context.addInitScript(init);
  return b;
}

async function oneRun(baseUrl: string, cookie: string, study = HEAD_CT_STUDY): Promise<RunResult> {
  const b = await signedInBrowser(baseUrl, cookie, INIT);
  try {
    const page = b.page;
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${baseUrl}/viewer/${study}${cpu ? '?cpu=1' : ''}`);
    await page.waitForFunction(() => performance.getEntriesByName('viewer:first-image').length > 0, null, { timeout: 60_000 });
    const first = await page.evaluate(() => {
      const mark = performance.getEntriesByName('viewer:first-image')[0].startTime;
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const res = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter((r) => r.startTime < mark);
      const dicom = res.filter((r) => r.name.includes('/dicom-web/'));
      const sum = (l: PerformanceResourceTiming[]) => l.reduce((s, r) => s + (r.transferSize || r.encodedBodySize || 0), 0);
      // The largest visible canvas, as the OHIF anchor's probe picks it: the shell's preview or
      // Cornerstone's, whichever put the first image on screen.
      const canvas = [...document.querySelectorAll('canvas')]
        .filter((c) => c.getBoundingClientRect().width > 0 && getComputedStyle(c).visibility !== 'hidden')
        .sort((a, b) => b.clientWidth * b.clientHeight - a.clientWidth * a.clientHeight)[0];
      const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let lit = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 24) lit++;
      const by = ((performance.getEntriesByName('viewer:first-image')[0] as PerformanceMark).detail as { by?: string } | null)?.by ?? 'cornerstone';
      return {
        mark,
        by,
        reqs: res.length + 1,
        bytes: sum(res) + (nav?.transferSize ?? 0),
        dicomBytes: sum(dicom),
        appBytes: sum(res) - sum(dicom) + (nav?.transferSize ?? 0),
        nonBlack: lit / (d.length / 4),
        canvasInfo: [...document.querySelectorAll('canvas')].map((c) => `${c.className}:${c.width}x${c.height}/${c.clientWidth}x${c.clientHeight}`).join(' '),
      };
    });
    // All frames in the browser: the last frame response of the stack (the OHIF anchor's "all slices
    // loaded" is network quiet, the same event). allCached below also waits for Cornerstone's decode.
    const allFetched = (await (
      await page.waitForFunction(
        () => {
          const n = window.__viewer?.getState().imageCount ?? 0;
          const res = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
          const frames = res.filter((r) => /\/frames\/\d+$/.test(r.name));
          // The gateway's opening stream carries the whole opening series; frames it could not
          // carry are fetched one by one and counted too.
          const stream = res.find((r) => r.name.endsWith('/opening'));
          const got = new Set(frames.map((f) => f.name)).size + (stream ? n : 0);
          return n > 0 && got >= n ? Math.max(...[...frames, ...(stream ? [stream] : [])].map((f) => f.responseEnd)) : false;
        },
        null,
        { timeout: 60_000, polling: 100 },
      )
    ).jsonValue()) as number;
    if (timeline) {
      const t = await page.evaluate(() => [
        ...(performance.getEntriesByType('navigation') as PerformanceNavigationTiming[]).map((r) => `${r.startTime.toFixed(0).padStart(5)} ${r.responseEnd.toFixed(0).padStart(5)}       document (response start ${r.responseStart.toFixed(0)}, DOMContentLoaded ${r.domContentLoadedEventEnd.toFixed(0)})`),
        ...(performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((r) => `${r.startTime.toFixed(0).padStart(5)} ${r.responseEnd.toFixed(0).padStart(5)} (first byte ${r.responseStart.toFixed(0).padStart(5)}) ${(r.transferSize / 1e3).toFixed(0).padStart(5)}kB ${r.name.replace(location.origin, '').replace(/\/studies\/[0-9.]+/, '/studies/…').slice(0, 110)}`),
        ...performance.getEntriesByType('mark').map((m) => `${m.startTime.toFixed(0).padStart(5)}       mark ${m.name}`),
      ]);
      console.log(t.sort((a, b) => Number(a.slice(0, 5)) - Number(b.slice(0, 5))).join('\n'));
    }
    const allCached = (await (
      await page.waitForFunction(
        () => {
          const s = window.__viewer?.getState();
          return s && s.imageCount > 0 && s.loadedCount >= s.imageCount ? performance.now() : false;
        },
        null,
        { timeout: 60_000, polling: 'raf' },
      )
    ).jsonValue()) as number;

    // Step scroll: one key at a time, wait for the frame.
    await page.keyboard.press('Home');
    await page.waitForFunction(() => window.__viewer!.getState().imageIndex === 0);
    await page.waitForTimeout(200);
    await page.evaluate(() => {
      const w = window as unknown as { __bench: { renders: number[]; keys: number[] } };
      w.__bench.renders = [];
      w.__bench.keys = [];
    });
    const latencies: number[] = [];
    // 27 steps whatever the series length (the first 28 slices), so the lengths compare like for like.
    const steps = Math.min(28, await page.evaluate(() => window.__viewer!.getState().imageCount));
    for (let i = 1; i < steps; i++) {
      await page.keyboard.press('ArrowDown');
      await page.waitForFunction(
        (n) => {
          const w = window as unknown as { __bench: { renders: number[]; keys: number[] } };
          return window.__viewer!.getState().imageIndex === n && w.__bench.renders.some((t) => t >= w.__bench.keys[w.__bench.keys.length - 1]);
        },
        i,
        { polling: 'raf' },
      );
      latencies.push(
        await page.evaluate(() => {
          const w = window as unknown as { __bench: { renders: number[]; keys: number[] } };
          const k = w.__bench.keys[w.__bench.keys.length - 1];
          return w.__bench.renders.find((t) => t >= k)! - k;
        }),
      );
    }
    // Burst: all keys back to back, then measure the intervals between rendered frames.
    await page.keyboard.press('Home');
    await page.waitForFunction(() => window.__viewer!.getState().imageIndex === 0);
    await page.waitForTimeout(300);
    await page.evaluate(() => {
      const w = window as unknown as { __bench: { renders: number[]; keys: number[] } };
      w.__bench.renders = [];
      w.__bench.keys = [];
    });
    for (let i = 1; i < steps; i++) await page.keyboard.press('ArrowDown');
    await page.waitForFunction((n) => window.__viewer!.getState().imageIndex === n, steps - 1);
    await page.waitForTimeout(300);
    const burst = await page.evaluate(() => {
      const w = window as unknown as { __bench: { renders: number[]; keys: number[] } };
      return { renders: w.__bench.renders, firstKey: w.__bench.keys[0] };
    });
    // Annotations drawn on the last slice (Cornerstone's text boxes carry their annotation's UID):
    // proves that a run meant to scroll with measurements shown had them on screen.
    const annotationsShown = await page.evaluate(() => new Set([...document.querySelectorAll('[data-annotation-uid]')].map((e) => e.getAttribute('data-annotation-uid'))).size);
    const frames = burst.renders.slice(1).map((t, i) => t - burst.renders[i]);
    const span = burst.renders[burst.renders.length - 1] - burst.firstKey;
    if (errors.length) console.warn(`[bench] page errors: ${errors.join(' | ')}`);
    return {
      firstImageMs: first.mark,
      reqsToFirst: first.reqs,
      bytesToFirst: first.bytes,
      dicomBytesToFirst: first.dicomBytes,
      appBytesToFirst: first.appBytes,
      allCachedMs: allCached,
      allFetchedMs: allFetched,
      firstBy: first.by,
      stepLatencyMedMs: median(latencies),
      stepLatencyP95Ms: pct(latencies, 95),
      burstFrameMedMs: median(frames),
      burstFrameP95Ms: pct(frames, 95),
      burstFps: (burst.renders.length / span) * 1000,
      canvasNonBlack: first.nonBlack,
      canvasInfo: first.canvasInfo,
      annotationsShown,
    };
  } finally {
    await b.close();
  }
}

/** Records the first arrow key the viewer handled itself (the slice changed in that key's task). */
const TTI_INIT = `
      window.__tti = null;
      window.addEventListener('keydown', (e) => {
        if (window.__tti != null || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp')) return;
        const before = window.__viewer ? window.__viewer.getState().imageIndex : null;
        const t = e.timeStamp;
        // Registered before the viewer's own listener: look after this key's task has run.
        setTimeout(() => {
          const after = window.__viewer ? window.__viewer.getState().imageIndex : null;
          if (window.__tti == null && before != null && after != null && after !== before) window.__tti = t;
        }, 0);
      }, true);
`;

/**
 * Time to interactive, cold: ArrowDown / ArrowUp pressed every 40 ms from the navigation on; the
 * first key the viewer handled itself (the slice changed before the next task, so not a key the
 * early-key queue kept and replayed later) gives the time, from navigation start (±40 ms).
 */
async function ttiRun(baseUrl: string, cookie: string, study: string): Promise<{ ttiMs: number; firstImageMs: number }> {
  const b = await signedInBrowser(baseUrl, cookie, TTI_INIT);
  try {
    const page = b.page;
    await page.goto(`${baseUrl}/viewer/${study}${cpu ? '?cpu=1' : ''}`, { waitUntil: 'commit' });
    const t0 = Date.now();
    for (let k = 0; Date.now() - t0 < 30_000; k++) {
      await page.keyboard.press(k % 2 ? 'ArrowUp' : 'ArrowDown').catch(() => undefined);
      const tti = await page.evaluate(() => (window as unknown as { __tti: number | null }).__tti).catch(() => null);
      if (tti != null) {
        const fi = await page.evaluate(() => performance.getEntriesByName('viewer:first-image')[0]?.startTime ?? NaN);
        return { ttiMs: tti, firstImageMs: fi };
      }
      await page.waitForTimeout(40);
    }
    return { ttiMs: NaN, firstImageMs: NaN };
  } finally {
    await b.close();
  }
}

/** 2×2 on a study of four series: the viewer opened, then key 9 -> all four viewport canvases painted. */
async function layoutRun(baseUrl: string, cookie: string, study: string): Promise<number> {
  const b = await signedInBrowser(baseUrl, cookie);
  try {
    const page = b.page;
    await page.goto(`${baseUrl}/viewer/${study}${cpu ? '?cpu=1' : ''}`);
    await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
    await page.waitForTimeout(300);
    const t0 = await page.evaluate(() => performance.now());
    await page.keyboard.press('9');
    const done = (await (
      await page.waitForFunction(
        () => {
          const cells = [0, 1, 2, 3].map((i) => document.querySelector(`[data-viewport-index="${i}"] .viewport-element canvas`) as HTMLCanvasElement | null);
          if (cells.some((c) => !c || !c.width)) return false;
          const lit = cells.map((c) => {
            const d = c!.getContext('2d')!.getImageData(0, 0, c!.width, c!.height).data;
            let n = 0;
            for (let k = 0; k < d.length; k += 16) if ((d[k] + d[k + 1] + d[k + 2]) / 3 > 8) n++;
            return n / (d.length / 16);
          });
          return lit.every((x) => x > 0.1) ? performance.now() : false;
        },
        null,
        { timeout: 30_000, polling: 'raf' },
      )
    ).jsonValue()) as number;
    return done - t0;
  } finally {
    await b.close();
  }
}

/** The shared SEG (pydicom-data liver.dcm) and the 3 CT slices it segments (dcmqi ct-3slice). */
const SEG_STUDY = '1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1';
const segStudyFiles = () => [
  path.join(DICOM, 'pydicom-data', 'data_store', 'data', 'liver.dcm'),
  ...['01.dcm', '02.dcm', '03.dcm'].map((f) => path.join(DICOM, 'dcmqi', 'data', 'segmentations', 'ct-3slice', f)),
];

/** key -> Cornerstone's render, one key at a time (the page has the INIT script). */
async function stepLatencies(page: import('playwright-core').Page, keys: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const key of keys) {
    await page.evaluate(() => {
      const w = window as unknown as { __bench: { renders: number[]; keys: number[] } };
      w.__bench.renders = [];
      w.__bench.keys = [];
    });
    const before = await page.evaluate(() => window.__viewer!.getState().imageIndex);
    await page.keyboard.press(key);
    out.push(
      (await (
        await page.waitForFunction(
          (b) => {
            const w = window as unknown as { __bench: { renders: number[]; keys: number[] } };
            const k = w.__bench.keys[w.__bench.keys.length - 1];
            const r = k == null ? undefined : w.__bench.renders.find((t) => t >= k);
            return window.__viewer!.getState().imageIndex !== b && r != null ? r - k : false;
          },
          before,
          { polling: 'raf', timeout: 10_000 },
        )
      ).jsonValue()) as number,
    );
    await page.waitForTimeout(50);
  }
  return out;
}

/**
 * Step latency on the SEG's own 3-slice CT with the segment shown vs its toggle off, in the same page
 * (20 steps each, down and up): the SEG labelmap overlay's cost per step.
 */
async function segRun(baseUrl: string, cookie: string): Promise<{ shown: number; hidden: number }> {
  const b = await signedInBrowser(baseUrl, cookie, INIT);
  try {
    const page = b.page;
    await page.goto(`${baseUrl}/viewer/${SEG_STUDY}${cpu ? '?cpu=1' : ''}`);
    await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
    await page.waitForFunction(() => ((window as unknown as { __objects?: { getState(): { drawn: { segFrames?: number } | null } } }).__objects?.getState().drawn?.segFrames ?? 0) >= 1, null, { timeout: 30_000 });
    const keys = Array.from({ length: 20 }, (_, i) => (Math.floor(i / 2) % 2 ? 'ArrowUp' : 'ArrowDown'));
    await page.keyboard.press('Home');
    await page.waitForTimeout(300);
    const shown = await stepLatencies(page, keys);
    await page.getByTestId('seg-toggle-1').uncheck();
    // The checkbox took the focus: arrow keys would go to it, not to the viewer.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.waitForFunction(() => ((window as unknown as { __objects?: { getState(): { drawn: { segFrames?: number } | null } } }).__objects?.getState().drawn?.segFrames ?? 0) === 0, null, { timeout: 10_000 });
    await page.keyboard.press('Home');
    await page.waitForTimeout(300);
    const hidden = await stepLatencies(page, keys);
    return { shown: median(shown), hidden: median(hidden) };
  } finally {
    await b.close();
  }
}

/** Ten length measurements on every slice of a built series, stored through the gateway as a reader's. */
async function seedMeasurements(client: Awaited<ReturnType<typeof login>>, s: LongSeries): Promise<number> {
  let n = 0;
  for (const [i, sl] of s.slices.entries()) {
    for (let k = 0; k < 10; k++) {
      const at = (u: number, v: number) => sl.ipp.map((p, j) => p + sl.row[j] * u + sl.col[j] * v);
      const len = 20 + 5 * k;
      const body = { tool: 'length', seriesInstanceUID: s.seriesInstanceUID, sopInstanceUID: sl.sop, frameNumber: 1, points: [at(120, 60 + 35 * k), at(120 + len, 60 + 35 * k)], stats: { length: len, unit: 'mm' } };
      const r = await client.fetch(`/api/studies/${s.studyInstanceUID}/measurements/bench-${i}-${k}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`measurement not stored: ${r.status} ${await r.text()}`);
      n++;
    }
  }
  return n;
}

/**
 * How cost grows with the study (--slices 28,280,560, from DICOM_DIR or the shared head CT): each
 * length a series of its own (new UIDs, positions shifted along the normal), all runs interleaved so
 * that every length sees the same machine load; plus TTI, 2×2 and 10 measurements per slice.
 */
async function growthMain(): Promise<void> {
  const dir = process.env.DICOM_DIR;
  const source = dir ? fs.readdirSync(dir).filter((f) => !f.startsWith('.')).map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile()) : headCtFiles();
  const sizes = String(arg('slices', '28')).split(',').map(Number).filter((n) => n > 0);
  const extras = arg('no-extras') !== 'true';
  // No pre-read: none of the built series should have the model's inference competing for the cores.
  process.env.PREREAD = '0';
  const t0 = Date.now();
  const series = sizes.map((n) => buildLongSeries(source, n));
  const withMeas = extras ? buildLongSeries(source, sizes[0]) : null;
  const four = extras ? [1, 2, 3, 4].reduce<LongSeries[]>((acc, k) => [...acc, buildLongSeries(source, sizes[0], { studyInstanceUID: acc[0]?.studyInstanceUID, seriesNumber: k })], []) : [];
  const all = [...series, ...(withMeas ? [withMeas] : []), ...four];
  console.log(`[bench:viewer] built ${all.reduce((n, x) => n + x.files.length, 0)} files from ${source.length} source slices in ${Date.now() - t0} ms`);
  const stack = await startE2EStack({ files: [...all.flatMap((x) => x.files), ...(extras ? segStudyFiles() : [])] });
  try {
    const client = await login(stack.baseUrl, 'rita');
    if (withMeas) console.log(`  seeded ${await seedMeasurements(client, withMeas)} length measurements (10 per slice) on the "measurements" series`);
    console.log(`[bench:viewer] growth: slices=${sizes.join(',')} runs=${runs} source=${dir ?? 'shared head CT'} cpus=${os.cpus().length} load=${os.loadavg()[0].toFixed(2)} (the box is shared with other sessions' tests)`);
    const res: Record<string, RunResult[]> = {};
    const tti: number[] = [], ttiFirst: number[] = [], grid: number[] = [], segShown: number[] = [], segHidden: number[] = [];
    const push = (k: string, r: RunResult) => (res[k] ??= []).push(r);
    for (let i = 0; i < runs; i++) {
      // The lengths in a rotated order each run (28, 280, 560; then 280, 560, 28; …): a series opened
      // right after another (whose PACS reads and streams may still be winding down on these two
      // cores) is not always the same one.
      const order = series.map((s, j) => [j, s] as const);
      for (const [j, s] of [...order.slice(i % order.length), ...order.slice(0, i % order.length)]) {
        const r = await oneRun(stack.baseUrl, client.cookie, s.studyInstanceUID);
        push(String(sizes[j]), r);
        console.log(`  run ${i + 1} ${sizes[j]} slices: first image ${r.firstImageMs.toFixed(0)} ms (${r.reqsToFirst} req, ${(r.bytesToFirst / 1e6).toFixed(2)} MB before it), all fetched ${r.allFetchedMs.toFixed(0)} ms, step ${r.stepLatencyMedMs.toFixed(1)} ms`);
        if (r.canvasNonBlack < 0.02) throw new Error(`blank canvas at the first-image mark (${r.canvasInfo})`);
      }
      if (!extras) continue;
      const rm = await oneRun(stack.baseUrl, client.cookie, withMeas!.studyInstanceUID);
      push('meas', rm);
      const t = await ttiRun(stack.baseUrl, client.cookie, series[0].studyInstanceUID);
      tti.push(t.ttiMs);
      ttiFirst.push(t.firstImageMs);
      grid.push(await layoutRun(stack.baseUrl, client.cookie, four[0].studyInstanceUID));
      const sg = await segRun(stack.baseUrl, client.cookie);
      segShown.push(sg.shown);
      segHidden.push(sg.hidden);
      console.log(`  run ${i + 1} extras: 10 measurements/slice step ${rm.stepLatencyMedMs.toFixed(1)} ms (${rm.annotationsShown} drawn on the last slice); TTI ${t.ttiMs.toFixed(0)} ms (first image ${t.firstImageMs.toFixed(0)} ms); 2×2 key 9 -> four painted ${grid[grid.length - 1].toFixed(0)} ms; SEG step ${sg.shown.toFixed(1)} ms shown vs ${sg.hidden.toFixed(1)} ms hidden`);
    }
    const med = (k: string, f: keyof RunResult) => median(res[k].map((r) => r[f] as number));
    const base = String(sizes[0]);
    console.log(`[bench:viewer] medians over ${runs} runs`);
    // Each run's own ratio (the lengths opened minutes apart at most, under the same load), then their median.
    const paired = (n: string) => median(res[n].map((r, i) => r.firstImageMs / res[base][i].firstImageMs));
    for (const n of sizes.map(String))
      console.log(`  ${n.padStart(4)} slices: first image ${med(n, 'firstImageMs').toFixed(0)} ms (x${(med(n, 'firstImageMs') / med(base, 'firstImageMs')).toFixed(2)} of ${base}, median of per-run ratios x${paired(n).toFixed(2)}; target <= 1.1), ${(med(n, 'bytesToFirst') / 1e6).toFixed(2)} MB before it, all fetched ${med(n, 'allFetchedMs').toFixed(0)} ms, step ${med(n, 'stepLatencyMedMs').toFixed(1)} ms (p95 ${med(n, 'stepLatencyP95Ms').toFixed(1)}; target <= 5)`);
    if (extras) {
      console.log(`  step with 10 measurements per slice: ${med('meas', 'stepLatencyMedMs').toFixed(1)} ms vs ${med(base, 'stepLatencyMedMs').toFixed(1)} ms none (x${(med('meas', 'stepLatencyMedMs') / med(base, 'stepLatencyMedMs')).toFixed(2)})`);
      console.log(`  time to interactive (first key handled by the viewer, cold, ${base} slices): ${median(tti).toFixed(0)} ms (first image in those runs ${median(ttiFirst).toFixed(0)} ms; target <= 1000)`);
      console.log(`  2×2 (four series of ${base}): key 9 -> all four painted ${median(grid).toFixed(0)} ms`);
      console.log(`  step with the shared SEG shown vs its toggle off (its 3-slice CT, 20 steps each): ${median(segShown).toFixed(1)} vs ${median(segHidden).toFixed(1)} ms (x${(median(segShown) / median(segHidden)).toFixed(2)})`);
    }
    if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ sizes, res, tti, ttiFirst, grid, segShown, segHidden }, null, 2));
  } finally {
    await stack.stop();
    for (const x of all) x.remove();
  }
}

async function main(): Promise<void> {
  if (arg('slices') || process.env.DICOM_DIR) return growthMain();
  const stack = await startE2EStack({ files: headCtFiles() });
  try {
    const client = await login(stack.baseUrl, 'rita');
    // The pre-read runs when the study arrives, long before anyone reads it: let it finish first so
    // that its inference does not share the 2 cores with the runs being measured.
    for (const t0 = Date.now(); Date.now() - t0 < 120_000; ) {
      const tri = (await (await client.fetch('/api/triage')).json()) as { studies: Record<string, { aiState: string }> };
      const states = Object.values(tri.studies).map((x) => x.aiState);
      if (states.length && states.every((st) => !['pending', 'running'].includes(st))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const chromiumVersion = await (async () => {
      const b = await launchBrowser();
      try {
        return b.context.browser()?.version() ?? (await b.page.evaluate(() => navigator.userAgent));
      } finally {
        await b.close();
      }
    })();
    const assets = fs.readdirSync(path.join(DIST, 'assets'));
    console.log('[bench:viewer] settings');
    console.log(`  runs=${runs} rendering=${cpu ? 'cpu (?cpu=1)' : 'default (CPU path when WebGL is software-only, as headless here; WebGL on a real GPU)'} window=1280x800 cold profile per run`);
    console.log(`  chromium=${chromiumVersion} flags=--headless --disable-gpu --no-sandbox; node=${process.version}; cpus=${os.cpus().length} load=${os.loadavg()[0].toFixed(2)}`);
    console.log(`  served by the gateway from dist/ (pre-compressed: ${assets.filter((a) => a.endsWith('.br')).length} .br files), study=head CT 28x512², explicit VR LE`);
    const results: RunResult[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await oneRun(stack.baseUrl, client.cookie);
      results.push(r);
      console.log(
        `  run ${i + 1}: first image ${r.firstImageMs.toFixed(0)} ms, ${r.reqsToFirst} req / ${(r.bytesToFirst / 1e6).toFixed(2)} MB before it (drawn by ${r.firstBy}), all fetched ${r.allFetchedMs.toFixed(0)} ms, all decoded ${r.allCachedMs.toFixed(0)} ms, step latency ${r.stepLatencyMedMs.toFixed(1)} ms, burst frame ${r.burstFrameMedMs.toFixed(1)} ms`,
      );
      if (r.canvasNonBlack < 0.02) throw new Error(`run ${i + 1}: canvas is blank at the first-image mark (${r.canvasInfo})`);
    }
    const m = (k: Exclude<keyof RunResult, 'firstBy' | 'canvasInfo' | 'annotationsShown'>) => median(results.map((r) => r[k]));
    const summary = {
      runs,
      cpuRendering: cpu,
      firstImageMs: m('firstImageMs'),
      reqsToFirst: m('reqsToFirst'),
      bytesToFirstMB: m('bytesToFirst') / 1e6,
      appBytesToFirstMB: m('appBytesToFirst') / 1e6,
      dicomBytesToFirstMB: m('dicomBytesToFirst') / 1e6,
      allCachedMs: m('allCachedMs'),
      allFetchedMs: m('allFetchedMs'),
      stepLatencyMedMs: m('stepLatencyMedMs'),
      stepLatencyP95Ms: m('stepLatencyP95Ms'),
      burstFrameMedMs: m('burstFrameMedMs'),
      burstFrameP95Ms: m('burstFrameP95Ms'),
      burstFps: m('burstFps'),
    };
    console.log('[bench:viewer] medians');
    console.log(`  first image            ${summary.firstImageMs.toFixed(0)} ms`);
    console.log(`  before first image     ${summary.reqsToFirst} requests, ${summary.bytesToFirstMB.toFixed(2)} MB (app ${summary.appBytesToFirstMB.toFixed(2)} MB, DICOM ${summary.dicomBytesToFirstMB.toFixed(2)} MB)`);
    console.log(`  all slices in browser  ${summary.allFetchedMs.toFixed(0)} ms (last frame response; OHIF anchor: network quiet)`);
    console.log(`  all slices decoded     ${summary.allCachedMs.toFixed(0)} ms (in Cornerstone's cache)`);
    console.log(`  step scroll latency    median ${summary.stepLatencyMedMs.toFixed(1)} ms, p95 ${summary.stepLatencyP95Ms.toFixed(1)} ms`);
    console.log(`  burst scroll frame     median ${summary.burstFrameMedMs.toFixed(1)} ms, p95 ${summary.burstFrameP95Ms.toFixed(1)} ms (${summary.burstFps.toFixed(1)} fps)`);
    console.log('  OHIF 3.13.2 anchor on this box (shared notes): first image 1886 ms, 63 req / 28.41 MB before it, all loaded 2243 ms');
    if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ summary, results }, null, 2));
  } finally {
    await stack.stop();
  }
}

main().catch((e) => {
  console.error(`[bench:viewer] ${(e as Error).stack ?? (e as Error).message}`);
  process.exit(1);
});
