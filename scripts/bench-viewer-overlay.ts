/**
 * `tsx scripts/bench-viewer-overlay.ts [--runs 3] [--cpu] [--json out.json]`: what the AI overlay costs
 * while scrolling. Production build behind the real gateway and Orthanc (28-slice head CT), 20 AI boxes
 * plus a 64x64 heatmap on every slice (the stress case), scroll measured with the overlay shown and
 * hidden (toggled with its key, 'o'), interleaved within each run so both see the same machine load.
 *
 *   step latency   ArrowDown -> first animation frame after Cornerstone's IMAGE_RENDERED (the overlay
 *                  re-renders synchronously inside that event, so its cost is inside this number)
 *   burst frame    27 ArrowDown presses back to back: interval between those frames
 */
import fs from 'node:fs';
import { launchBrowser } from '../e2e/lib/browser.js';
import { startE2EStack } from '../e2e/lib/stack.js';
import { login } from '../test/harness.js';
import { headCtFiles } from './lib/demo-data.js';
import type { FindingInput } from '../src/core/findings/finding.js';

const STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const arg = (n: string, d?: string) => {
  const i = process.argv.indexOf(`--${n}`);
  return i < 0 ? d : process.argv[i + 1] && !process.argv[i + 1].startsWith('--') ? process.argv[i + 1] : 'true';
};
const runs = Math.max(1, Number(arg('runs', '3')));
const cpu = arg('cpu') === 'true';
const jsonOut = arg('json');
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const p95 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.max(0, Math.ceil(0.95 * a.length) - 1)] ?? NaN;

const INIT = `
  window.__bench = { frames: [], keys: [] };
  document.addEventListener('CORNERSTONE_IMAGE_RENDERED', () => requestAnimationFrame(() => window.__bench.frames.push(performance.now())), true);
  window.addEventListener('keydown', (e) => { if (e.key === 'ArrowDown') window.__bench.keys.push(e.timeStamp); }, true);
`;

/** 20 boxes on every slice and one heatmap per slice, from the study's real SOP UIDs. */
async function stressFindings(c: Awaited<ReturnType<typeof login>>): Promise<Omit<FindingInput, 'source'>[]> {
  const [series] = await c.json<Record<string, { Value: string[] }>[]>(`/dicom-web/studies/${STUDY}/series`);
  const seriesUID = series['0020000E'].Value[0];
  const inst = await c.json<Record<string, { Value: string[] }>[]>(`/dicom-web/studies/${STUDY}/series/${seriesUID}/instances`);
  const sops = inst.map((i) => i['00080018'].Value[0]);
  const image = (sop: string) => ({ seriesInstanceUID: seriesUID, sopInstanceUID: sop });
  const base = { studyInstanceUID: STUDY, type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' }, label: 'Bench box', severity: 'routine' as const, model: { name: 'bench', version: '0' } }; // no source: the server stamps 'import'
  const out: Omit<FindingInput, 'source'>[] = [];
  for (let k = 0; k < 20; k++) {
    out.push({ ...base, id: `bench-box-${k}`, confidence: 0.5 + k / 50, regions: sops.map((s) => ({ image: image(s), box: { x: 60 + (k % 5) * 80, y: 60 + Math.floor(k / 5) * 90, width: 50, height: 40 } })) });
  }
  const values = Array.from({ length: 64 * 64 }, (_, i) => Math.exp(-(((i % 64) - 32) ** 2 + (Math.floor(i / 64) - 30) ** 2) / 200));
  out.push({ ...base, id: 'bench-heatmap', confidence: 0.9, regions: sops.map((s) => ({ image: image(s) })), heatmaps: sops.map((s) => ({ image: image(s), width: 64, height: 64, values, scale: { min: 0, max: 1, unit: 'probability' } })) });
  return out;
}

async function main() {
  const stack = await startE2EStack({ files: headCtFiles() });
  type Modes = 'shown' | 'boxes' | 'hidden';
  const results: Record<Modes, { step: number[]; burst: number[] }>[] = [];
  try {
    const admin = await login(stack.baseUrl, 'rita');
    const r = await admin.post('/api/findings', await stressFindings(admin));
    if (r.status !== 201) throw new Error(`seeding bench findings failed: ${r.status} ${await r.text()}`);
    for (let run = 0; run < runs; run++) {
      const b = await launchBrowser({ viewport: { width: 1280, height: 800 } });
      try {
        const [name, value] = admin.cookie.split('=');
        await b.context.addCookies([{ name, value, url: stack.baseUrl }]);
        await b.context.addInitScript(INIT);
        const page = b.page;
        await page.goto(`${stack.baseUrl}/viewer/${STUDY}${cpu ? '?cpu=1' : ''}`);
        await page.waitForFunction(() => {
          const s = window.__viewer?.getState();
          return s && s.imageCount > 0 && s.loadedCount >= s.imageCount;
        }, null, { timeout: 90_000 });
        await page.waitForFunction(() => ((window.__findings?.getState().findings as unknown[]) ?? []).length >= 21, null, { timeout: 30_000 });
        const one: (typeof results)[number] = { shown: { step: [], burst: [] }, boxes: { step: [], burst: [] }, hidden: { step: [], burst: [] } };
        // Interleaved so drift in machine load hits every mode: all marks, boxes without heatmap, none.
        for (const mode of ['shown', 'boxes', 'hidden', 'hidden', 'boxes', 'shown'] as const) {
          const st = (await page.evaluate(() => window.__findings!.getState())) as { overlaysVisible: boolean; heatmapsVisible: boolean };
          if (st.overlaysVisible !== (mode !== 'hidden')) await page.keyboard.press('o');
          if (mode !== 'hidden' && st.heatmapsVisible !== (mode === 'shown')) await page.keyboard.press('h');
          await page.keyboard.press('Home');
          await page.waitForFunction(() => window.__viewer!.getState().imageIndex === 0);
          await page.waitForTimeout(250);
          if (mode !== 'hidden') {
            const marks = (await page.evaluate(() => (window.__findings!.getState().marks as unknown[]).length)) as number;
            if (marks < 20) throw new Error(`expected 20 marks on screen, saw ${marks}`);
          }
          const reset = () => page.evaluate(() => Object.assign((window as unknown as { __bench: object }).__bench, { frames: [], keys: [] }));
          await reset();
          for (let i = 1; i < 28; i++) {
            await page.keyboard.press('ArrowDown');
            await page.waitForFunction((n) => {
              const w = window as unknown as { __bench: { frames: number[]; keys: number[] } };
              return window.__viewer!.getState().imageIndex === n && w.__bench.frames.some((t) => t >= w.__bench.keys[w.__bench.keys.length - 1]);
            }, i, { polling: 'raf' });
            one[mode].step.push(
              (await page.evaluate(() => {
                const w = window as unknown as { __bench: { frames: number[]; keys: number[] } };
                const k = w.__bench.keys[w.__bench.keys.length - 1];
                return w.__bench.frames.find((t) => t >= k)! - k;
              })) as number,
            );
          }
          await page.keyboard.press('Home');
          await page.waitForFunction(() => window.__viewer!.getState().imageIndex === 0);
          await page.waitForTimeout(250);
          await reset();
          for (let i = 1; i < 28; i++) await page.keyboard.press('ArrowDown');
          await page.waitForFunction(() => window.__viewer!.getState().imageIndex === 27);
          await page.waitForTimeout(300);
          const frames = (await page.evaluate(() => (window as unknown as { __bench: { frames: number[] } }).__bench.frames)) as number[];
          one[mode].burst.push(...frames.slice(1).map((t, i) => t - frames[i]));
        }
        results.push(one);
        console.log(`  run ${run + 1}: step ${median(one.shown.step).toFixed(1)} ms all marks / ${median(one.boxes.step).toFixed(1)} boxes only / ${median(one.hidden.step).toFixed(1)} hidden; burst frame ${median(one.shown.burst).toFixed(1)} / ${median(one.boxes.burst).toFixed(1)} / ${median(one.hidden.burst).toFixed(1)} ms`);
      } finally {
        await b.close();
      }
    }
  } finally {
    await stack.stop();
  }
  const all = (m: Modes, k: 'step' | 'burst') => results.flatMap((r) => r[m][k]);
  const stat = (k: 'step' | 'burst') => Object.fromEntries((['shown', 'boxes', 'hidden'] as const).map((m) => [m, { median: median(all(m, k)), p95: p95(all(m, k)) }])) as Record<Modes, { median: number; p95: number }>;
  const summary = {
    runs,
    cpuRendering: cpu,
    overlay: '20 boxes + 64x64 heatmap per slice',
    stepLatencyMs: stat('step'),
    burstFrameMs: stat('burst'),
  };
  console.log(`
AI overlay scroll cost (${runs} run(s), ${cpu ? 'CPU' : 'GPU/WebGL'} rendering, 20 boxes + heatmap per slice)
${(['step', 'burst'] as const).map((k) => {
    const x = k === 'step' ? summary.stepLatencyMs : summary.burstFrameMs;
    return `  ${k === 'step' ? 'step latency' : 'burst frame '}   all marks ${x.shown.median.toFixed(1)} ms (p95 ${x.shown.p95.toFixed(1)})   boxes only ${x.boxes.median.toFixed(1)} ms (p95 ${x.boxes.p95.toFixed(1)})   hidden ${x.hidden.median.toFixed(1)} ms (p95 ${x.hidden.p95.toFixed(1)})`;
  }).join('\n')}`);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(summary, null, 2));
}

await main();
