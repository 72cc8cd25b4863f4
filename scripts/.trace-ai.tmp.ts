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
const which = process.argv[2] ?? 'head';
const extra = process.argv[3] ?? '';
try {
  const page = b.page;
  await loginInBrowser(page, stack.baseUrl, 'rita');
  const study = readDicomSlice(fs.readFileSync(which === 'head' ? ct[0] : CHEST_CR)).studyInstanceUID;
  // warm-up run (HTTP cache)
  await page.goto(`${stack.baseUrl}/viewer/${study}?aiLimitMs=120000&aiThreads=${process.env.T ?? 2}${extra}`);
  await page.waitForFunction(() => ['done', 'error'].includes((window as any).__rsAi?.status().state), null, { timeout: 120_000 });
  await page.goto('about:blank');
  await stack.gateway.store.db.deleteFrom('findings').execute();
  const cdp = await b.context.newCDPSession(page);
  const events: any[] = [];
  cdp.on('Tracing.dataCollected', (e: any) => events.push(...e.value));
  const complete = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['devtools.timeline', 'v8', 'v8.wasm', 'disabled-by-default-devtools.timeline', 'blink.user_timing', 'toplevel', 'disabled-by-default-v8.compile'] }, transferMode: 'ReportEvents' } as any);
  await page.goto(`${stack.baseUrl}/viewer/${study}?aiLimitMs=120000&aiThreads=${process.env.T ?? 2}${extra}`);
  const s = (await page.waitForFunction(() => { const st = (window as any).__rsAi?.status(); return st && ['done', 'error'].includes(st.state) ? st : null; }, null, { timeout: 120_000 }).then((h) => h.jsonValue())) as any;
  await cdp.send('Tracing.end');
  await complete;
  console.log('status', s.state, Math.round(s.timings?.totalMs), JSON.stringify(s.timings?.phases));
  fs.writeFileSync('/tmp/aiprobe/trace.json', JSON.stringify(events));
} finally {
  await b.close();
  await stack.stop();
}
process.exit(0);
