import fs from 'node:fs';
import { CHEST_CR, headCtFiles } from './lib/demo-data.js';
import { readDicomSlice } from '../gateway/ai/runtime.js';
const { ensureBuilt, DIST, loginInBrowser } = await import('../e2e/lib/stack.js');
const { launchBrowser } = await import('../e2e/lib/browser.js');
const { startStack } = await import('../test/harness.js');
ensureBuilt();
const ct = headCtFiles();
const stack = await startStack({ files: [...ct, CHEST_CR], staticDir: DIST });
const b = await launchBrowser({ viewport: { width: 1400, height: 900 } });
const RUNS = Number(process.argv[2] ?? 3);
const extra = process.argv[3] ?? '';
try {
  const page = b.page;
  await loginInBrowser(page, stack.baseUrl, 'rita');
  for (const [name, file] of [['head', ct[0]], ['chest', CHEST_CR]] as const) {
    const study = readDicomSlice(fs.readFileSync(file)).studyInstanceUID;
    for (let r = 0; r < RUNS; r++) {
      await stack.gateway.store.db.deleteFrom('findings').execute();
      await page.goto(`${stack.baseUrl}/viewer/${study}?${process.env.P ?? "aiProvider=wasm"}&aiThreads=${process.env.T ?? 2}&aiLimitMs=120000${extra}`);
      const s = (await page.waitForFunction(() => {
        const st = (window as any).__rsAi?.status();
        return st && ['done', 'error', 'skipped', 'unavailable'].includes(st.state) ? st : null;
      }, null, { timeout: 120_000, polling: 50 }).then((h) => h.jsonValue())) as any;
      const marks = await page.evaluate(() => {
        const o: Record<string, number> = {};
        for (const e of performance.getEntriesByType('mark')) o[e.name] = Math.round(e.startTime);
        const res = performance.getEntriesByType('resource').filter((e) => /ort|models|frames|ai-results|api\/models/.test(e.name)).map((e: any) => `${e.name.replace(/^https?:\/\/[^/]+/, '').slice(0, 60)} start=${Math.round(e.startTime)} dur=${Math.round(e.duration)} size=${e.transferSize}`);
        return { o, res, nav: Math.round(performance.now()) };
      });
      console.log(`${name} run ${r}: ${s.state} total=${Math.round(s.timings?.totalMs)} phases=${JSON.stringify(s.timings?.phases)}`);
      console.log('  marks', JSON.stringify(marks.o));
      if (r === RUNS - 1) console.log('  res\n   ' + marks.res.join('\n   '));
    }
  }
} finally {
  await b.close();
  await stack.stop();
}
process.exit(0);
