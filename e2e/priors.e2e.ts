/**
 * Comparison with the prior in the viewer (real Chromium, production build): two head CTs of one patient,
 * dated 2026-05-01 and 2026-12-01 (built from the shared slices), each with a radiologist-accepted haemorrhage
 * of 6 mm and 9 mm; the prior is signed with its report. Opening the later study, the report panel shows the
 * prior, its report and "6 mm → 9 mm, +50 % since 2026-05-01", and writes that sentence into the draft as
 * AI-suggested. "Compare prior" (key C) opens the prior beside the current study (1×2), labelled with its
 * date: scrolling the current one moves the prior to the matching slice (matchSlice, same Frame of
 * Reference: by position), window/level is linked (and can be unlinked), and the prior's report is shown.
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
import { matchSlice, type SliceRef } from '../src/core/imaging/sync.js';
import { sliceNormal } from '../src/core/imaging/sliceOrder.js';

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
  // The prior covers more of the head (slices 0-11) than the current study (4-7): the current slices
  // have their anatomical match inside it, at another index.
  prior = await buildHeadCtStudy({ slices: 12 });
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

  it('Compare prior opens the prior beside the current study; scrolling and window/level follow; its report is shown', async () => {
    await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
    // From the report panel's comparison (the key C and the toolbar's Prior do the same).
    await page.locator('[data-testid=report-comparison] [data-action=open-prior]').click();
    await page.waitForFunction((u) => {
      const v = window.__viewer!.getViewports();
      return v.layout === '1x2' && v.comparing && v.viewports[1]?.studyUID === u && v.viewports[1].imageCount === 12;
    }, prior.studyInstanceUID, { timeout: 30_000 });
    expect(await page.getByTestId('viewport-label-1').innerText()).toMatch(/^Prior 2026-05-01/);
    expect(await page.getByTestId('viewport-label-0').innerText()).toBe('Current 2026-12-01');
    for (const i of [0, 1]) await expect.poll(() => cellStats(page, i).then((c) => c.nonBlack), { timeout: 15_000 }).toBeGreaterThan(0.1);

    // Slice geometry from the files themselves, in the order each viewport shows them.
    const refs = new Map<string, SliceRef & { thickness: number }>();
    for (const f of [...prior.files, ...current.files]) {
      const ds = parseDicomPart10(fs.readFileSync(f)) as Record<string, unknown>;
      refs.set(String(ds.SOPInstanceUID), { frameOfReferenceUID: String(ds.FrameOfReferenceUID), ipp: (ds.ImagePositionPatient as number[]).map(Number), iop: (ds.ImageOrientationPatient as number[]).map(Number), sliceLocation: Number(ds.SliceLocation), thickness: Number(ds.SliceThickness) });
    }
    const vps = (await viewports(page)).viewports;
    const curRefs = vps[0].sops.map((u) => refs.get(u)!);
    const priorRefs = vps[1].sops.map((u) => refs.get(u)!);
    const n = sliceNormal(curRefs[0].iop)!;
    const along = (ipp: number[]) => ipp[0] * n[0] + ipp[1] * n[1] + ipp[2] * n[2];
    const expectMatched = async (i: number) => {
      const want = matchSlice(curRefs[i], priorRefs);
      expect(want.method).toBe('position');
      await page.waitForFunction(([a, b]) => {
        const v = window.__viewer!.getViewports().viewports;
        return v[0].imageIndex === a && v[1].imageIndex === b;
      }, [i, want.index] as const, { timeout: 15_000 });
      const v = (await viewports(page)).viewports;
      // Same anatomy: the two slices' positions along the normal within half a slice.
      expect(Math.abs(along(v[0].ipp!) - along(v[1].ipp!))).toBeLessThanOrEqual(curRefs[i].thickness / 2);
      return want.index;
    };
    const start = vps[0].imageIndex;
    const first = await expectMatched(start);
    // The current study is slices 4-7 of the prior's 0-11: its matches are 4 apart from its own index, never the same index.
    expect(Math.abs(first - start)).toBe(4);
    // Scroll the current study 2 slices (viewport 0 is active): the prior follows to the matched slice.
    const dir = start + 2 < curRefs.length ? 1 : -1;
    for (let k = 0; k < 2; k++) await page.keyboard.press(dir > 0 ? 'ArrowDown' : 'ArrowUp');
    const second = await expectMatched(start + 2 * dir);
    expect(Math.abs(second - first)).toBe(2);
    // The prior leads when it is the active viewport (j selects it): the current study follows.
    await page.keyboard.press('j');
    await page.waitForFunction(() => window.__viewer!.getViewports().active === 1, null, { timeout: 5_000 });
    const q = second > 0 ? second - 1 : second + 1;
    await page.keyboard.press(q < second ? 'ArrowUp' : 'ArrowDown');
    const back = matchSlice(priorRefs[q], curRefs);
    await page.waitForFunction(([a, b]) => {
      const v = window.__viewer!.getViewports().viewports;
      return v[1].imageIndex === a && v[0].imageIndex === b;
    }, [q, back.index] as const, { timeout: 15_000 });
    await page.keyboard.press('j');
    await page.waitForFunction(() => window.__viewer!.getViewports().active === 0, null, { timeout: 5_000 });

    // Window/level linked: a preset in the current viewport changes the prior's window and pixels.
    const priorHash = (await cellStats(page, 1)).hash;
    await page.keyboard.press('3'); // bone
    const bone = { lower: -800, upper: 1999 }; // W 2800 / L 600 (PS3.3 C.11.2.1.2: width − 1)
    await expect.poll(() => viewports(page).then((v) => [v.viewports[0].voi, v.viewports[1].voi]), { timeout: 10_000 }).toEqual([bone, bone]);
    await expect.poll(() => cellStats(page, 1).then((c) => c.hash), { timeout: 10_000 }).not.toBe(priorHash);
    // Unlinked (L): the next window applies to the current viewport only.
    await page.keyboard.press('L');
    expect(await page.getByTestId('link-voi').innerText()).toBe('W/L unlinked');
    const unlinkedHash = (await cellStats(page, 1)).hash;
    await page.keyboard.press('1'); // brain
    await page.waitForFunction(() => window.__viewer!.getViewports().viewports[0].voi?.lower === 0, null, { timeout: 10_000 });
    await page.waitForTimeout(300);
    expect((await viewports(page)).viewports[1].voi).toEqual(bone);
    expect((await cellStats(page, 1)).hash).toBe(unlinkedHash);

    // The prior's report, on the prior's viewport.
    await page.getByTestId('prior-report-toggle').click();
    expect(await page.getByTestId('viewport-prior-report').innerText()).toMatch(/IMPRESSION:/);
    // C again: back to the current study alone.
    await page.keyboard.press('C');
    await page.waitForFunction(() => window.__viewer!.getViewports().layout === '1x1', null, { timeout: 5_000 });
    expect(pageErrors).toEqual([]);
  }, 120_000);
});

type Vp = { imageIndex: number; imageCount: number; studyUID: string; ipp: number[] | null; voi: { lower: number; upper: number } | null; sops: string[] };
const viewports = (p: Page) => p.evaluate(() => window.__viewer!.getViewports() as unknown as { layout: string; comparing: boolean; viewports: Vp[] });

/** Pixels of viewport i's own canvas. */
function cellStats(p: Page, i: number): Promise<{ nonBlack: number; hash: number }> {
  return p.evaluate((i) => {
    const c = document.querySelector(`[data-viewport-index="${i}"] .viewport-element canvas`) as HTMLCanvasElement | null;
    if (!c || !c.width) return { nonBlack: 0, hash: 0 };
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    let hash = 0;
    for (let k = 0; k < d.length; k += 4) {
      if ((d[k] + d[k + 1] + d[k + 2]) / 3 > 8) lit++;
      hash = (hash * 31 + d[k] + 7 * d[k + 1]) | 0;
    }
    return { nonBlack: lit / (d.length / 4), hash };
  }, i);
}
