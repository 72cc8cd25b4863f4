/**
 * Comparison with the prior in the viewer (real Chromium, production build): two head CTs of one patient,
 * dated 2026-05-01 and 2026-12-01 (built from the shared slices), each with a radiologist-accepted haemorrhage
 * of 6 mm and 9 mm; the prior is signed with its report. Opening the later study, the report panel shows the
 * prior, its report and "6 mm → 9 mm, +50 % since 2026-05-01", and writes that sentence into the draft as
 * AI-suggested. (The prior opens in its own window; the 1×2 side-by-side layout is not built yet.)
 */
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { login, type Stack, type Client } from '../test/harness.js';
import { buildHeadCtStudy, type BuiltStudy } from '../gateway/preread/study-builder.js';
import { parseDicomPart10 } from '../src/core/sr/dicom.js';
import { acceptAll, draftFromFindings } from '../src/core/report/draft.js';
import type { Finding } from '../src/core/findings/finding.js';

let stack: Stack;
let browser: LaunchedBrowser;
let page: Page;
let rita: Client;
let prior: BuiltStudy;
let current: BuiltStudy;
let prevPreread: string | undefined;
const pageErrors: string[] = [];

function finding(b: BuiltStudy, id: string, widthMm: number) {
  const ds = parseDicomPart10(fs.readFileSync(b.files[0]));
  return {
    id, studyInstanceUID: b.studyInstanceUID, type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' }, label: 'Intracranial haemorrhage',
    confidence: 0.9, severity: 'critical', model: { name: 'ich-detector', version: '1.2.0', manufacturer: 'Reading Station Demo' },
    regions: [{ image: { seriesInstanceUID: String(ds.SeriesInstanceUID), sopInstanceUID: String(ds.SOPInstanceUID), sopClassUID: String(ds.SOPClassUID) }, box: { x: 200, y: 180, width: 20, height: 20 } }],
    measurements: [{ name: { value: '103355008', scheme: 'SCT', meaning: 'Width' }, value: widthMm, unit: { value: 'mm', scheme: 'UCUM', meaning: 'millimeter' } }],
  };
}

beforeAll(async () => {
  prevPreread = process.env.PREREAD;
  process.env.PREREAD = '0';
  prior = await buildHeadCtStudy({ slices: 4 });
  current = await buildHeadCtStudy({ slices: 4, firstSlice: 4 });
  execFileSync('dcmodify', ['-nb', '-m', '(0008,0020)=20260501', ...prior.files]);
  execFileSync('dcmodify', ['-nb', '-m', '(0008,0020)=20261201', ...current.files]);
  stack = await startE2EStack({ files: [...prior.files, ...current.files] });
  rita = await login(stack.baseUrl, 'rita');
  for (const [b, id, mm] of [[prior, 'P-ICH', 6], [current, 'C-ICH', 9]] as const) {
    expect((await rita.post('/api/findings', [finding(b, id, mm)])).status).toBe(201);
    expect((await rita.post(`/api/findings/${id}/verdict`, { action: 'accept' })).status).toBe(200);
  }
  const { findings } = await rita.json<{ findings: Finding[] }>(`/api/studies/${prior.studyInstanceUID}/findings`);
  const draft = acceptAll(draftFromFindings(findings, 'head-ct-haemorrhage'));
  expect((await rita.fetch(`/api/studies/${prior.studyInstanceUID}/report`, { method: 'PUT', body: JSON.stringify({ draft }), headers: { 'content-type': 'application/json' } })).status).toBe(200);
  expect((await rita.post(`/api/studies/${prior.studyInstanceUID}/signoff`, {})).status).toBe(201);
  browser = await launchBrowser({ viewport: { width: 1400, height: 900 } });
  page = browser.page;
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await loginInBrowser(page, stack.baseUrl, 'rita');
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  prior?.remove();
  current?.remove();
  if (prevPreread === undefined) delete process.env.PREREAD;
  else process.env.PREREAD = prevPreread;
});

describe('comparison with the prior', () => {
  it('the report panel shows the prior, its report and the interval change, and drafts the sentence AI-suggested', async () => {
    await page.goto(`${stack.baseUrl}/viewer/${current.studyInstanceUID}`);
    const cmp = page.getByTestId('report-comparison');
    await cmp.waitFor({ timeout: 60_000 });
    expect(await cmp.getAttribute('data-prior')).toBe(prior.studyInstanceUID);
    const change = cmp.getByTestId('interval-change').first();
    expect(await change.innerText()).toBe('Intracranial haemorrhage 6 mm → 9 mm, +50 % since 2026-05-01.');
    expect(await change.getAttribute('data-kind')).toBe('larger');
    expect(await cmp.getByTestId('prior-report').textContent()).toMatch(/IMPRESSION:/);
    const line = page.locator('[data-testid=report-line][data-line-id="c:C-ICH"]');
    await line.waitFor({ timeout: 15_000 });
    expect(await line.getAttribute('data-ai-suggested')).toBe('true');
    expect(await line.locator('textarea').inputValue()).toBe('Intracranial haemorrhage 6 mm → 9 mm, +50 % since 2026-05-01.');
    // And on the finding itself in the findings panel.
    await expect.poll(() => page.locator('[data-testid=findings-panel] li[data-finding-id="C-ICH"] [data-testid=finding-interval]').innerText().catch(() => ''), { timeout: 15_000 }).toBe('▲ +50 % since 2026-05-01');
  }, 120_000);
});
