/**
 * Viewport layouts (issue 15 item 4) in real Chromium on the production build: a study of two head CT
 * series (built from the shared slices). 2×2 shows four painted viewports; a series dragged from the
 * series panel lands in the viewport it is dropped on; keys choose the layout, the viewport and its
 * series; the active viewport is outlined. A side viewport is a full viewport: its own corner text
 * (painted, and in words), measurements drawn and stored by the same path as viewport 0's (and drawn
 * again after a reload), and cine playing it when it is active. Pixels are read from each viewport's
 * own canvas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { annotationPixels } from './lib/canvas.js';
import fs from 'node:fs';
import { login, type Stack } from '../test/harness.js';
import { parseDicomPart10 } from '../src/core/sr/dicom.js';
import { buildHeadCtStudy, type BuiltStudy } from '../gateway/preread/study-builder.js';

let stack: Stack;
let browser: LaunchedBrowser;
let page: Page;
let a: BuiltStudy;
let b: BuiltStudy;
let prevPreread: string | undefined;
const pageErrors: string[] = [];

type Vp = { index: number; seriesUID: string | null; imageIndex: number; imageCount: number; cineOn: boolean; sops: string[] };
type Layouts = { layout: string; active: number; viewports: Vp[] };
const layoutState = (p: Page) => p.evaluate(() => window.__viewer!.getViewports() as unknown as Layouts);

/** Pixels of viewport i's own canvas: the fraction of non-black pixels and a fingerprint. */
function cellStats(p: Page, i: number): Promise<{ width: number; nonBlack: number; hash: number }> {
  return p.evaluate((i) => {
    const c = document.querySelector(`[data-viewport-index="${i}"] .viewport-element canvas`) as HTMLCanvasElement | null;
    if (!c || !c.width) return { width: 0, nonBlack: 0, hash: 0 };
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    let hash = 0;
    for (let k = 0; k < d.length; k += 4) {
      if ((d[k] + d[k + 1] + d[k + 2]) / 3 > 8) lit++;
      hash = (hash * 31 + d[k] + 7 * d[k + 1]) | 0;
    }
    return { width: c.width, nonBlack: lit / (d.length / 4), hash };
  }, i);
}

/** Viewport i's painted corner canvas (slice 'bl', window 'br', zoom 'tr'): lit pixels and a fingerprint. */
function cellCorner(p: Page, i: number, corner: 'tr' | 'bl' | 'br'): Promise<{ lit: number; hash: number }> {
  return p.evaluate(([i, corner]) => {
    const c = document.querySelector(`[data-viewport-index="${i}"] .overlay-text .${corner} canvas`) as HTMLCanvasElement | null;
    if (!c || !c.width) return { lit: 0, hash: 0 };
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    let hash = 0;
    for (let k = 0; k < d.length; k += 4) {
      if (d[k + 3] > 128 && d[k] > 128) lit++;
      hash = (hash * 31 + d[k] + 7 * d[k + 3]) | 0;
    }
    return { lit, hash };
  }, [i, corner] as const);
}

/** Viewport i's annotation layer (Cornerstone's SVG) rasterised in the page: opaque pixels near a screen point, and its text. */
const cellAnnotationPixels = (p: Page, i: number, at: [number, number]) => annotationPixels(p, at, `[data-viewport-index="${i}"]`);

/**
 * The overlay's pieces in viewport i that overlap on screen, read from their pixels: each painted
 * canvas's opaque glyph pixels (the soft shadow around them may touch, the glyphs must not) and the
 * fixed corner's text lines, as page rectangles; every pair whose rectangles intersect.
 */
function overlayOverlaps(p: Page, i: number): Promise<{ pieces: string[]; overlaps: string[] }> {
  return p.evaluate((i) => {
    const root = document.querySelector(`[data-viewport-index="${i}"] .overlay-text`);
    if (!root) return { pieces: [], overlaps: ['no overlay'] };
    type R = { name: string; l: number; t: number; r: number; b: number };
    const boxes: R[] = [];
    root.querySelectorAll('canvas').forEach((c) => {
      if (!c.width || !c.height) return;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
      for (let y = 0; y < c.height; y++) {
        for (let x = 0; x < c.width; x++) {
          if (d[(y * c.width + x) * 4 + 3] < 160) continue;
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
      if (x1 < 0) return;
      const r = c.getBoundingClientRect();
      const sx = r.width / c.width;
      const sy = r.height / c.height;
      const name = c.dataset.marker ? `marker ${c.dataset.marker}` : c.dataset.testid ? 'scale bar' : `corner ${c.parentElement!.className}`;
      boxes.push({ name, l: r.left + x0 * sx, t: r.top + y0 * sy, r: r.left + (x1 + 1) * sx, b: r.top + (y1 + 1) * sy });
    });
    const tl = root.querySelector('.tl');
    if (tl) {
      const range = document.createRange();
      range.selectNodeContents(tl);
      const rects = [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0);
      if (rects.length) boxes.push({ name: 'corner tl', l: Math.min(...rects.map((r) => r.left)), t: Math.min(...rects.map((r) => r.top)), r: Math.max(...rects.map((r) => r.right)), b: Math.max(...rects.map((r) => r.bottom)) });
    }
    const overlaps: string[] = [];
    const fmt = (b: R) => `${b.name} [${Math.round(b.l)},${Math.round(b.t)}–${Math.round(b.r)},${Math.round(b.b)}]`;
    for (let m = 0; m < boxes.length; m++) {
      for (let n = m + 1; n < boxes.length; n++) {
        const [u, v] = [boxes[m], boxes[n]];
        if (u.l < v.r && v.l < u.r && u.t < v.b && v.t < u.b) overlaps.push(`${fmt(u)} × ${fmt(v)}`);
      }
    }
    return { pieces: boxes.map((b) => b.name), overlaps };
  }, i);
}

/** The words a corner's live region holds (written once the viewport settles, a quarter of a second after a step). */
async function spoken(p: Page, testId: string, want: RegExp): Promise<string> {
  await expect.poll(async () => (await p.textContent(`[data-testid=${testId}]`).catch(() => '')) ?? '', { interval: 50, timeout: 10_000 }).toMatch(want);
  return (await p.textContent(`[data-testid=${testId}]`)) ?? '';
}

beforeAll(async () => {
  prevPreread = process.env.PREREAD;
  process.env.PREREAD = '0';
  a = await buildHeadCtStudy({ slices: 6, firstSlice: 8 });
  b = await buildHeadCtStudy({ slices: 5, firstSlice: 16, studyInstanceUID: a.studyInstanceUID });
  stack = await startE2EStack({ files: [...a.files, ...b.files] });
  browser = await launchBrowser({ viewport: { width: 1400, height: 900 } });
  page = browser.page;
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await loginInBrowser(page, stack.baseUrl, 'rita');
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  a?.remove();
  b?.remove();
  if (prevPreread === undefined) delete process.env.PREREAD;
  else process.env.PREREAD = prevPreread;
});

describe('viewport layouts', () => {
  it('2×2 shows four painted viewports; a dragged series lands in its viewport; keys pick layout, viewport and series', async () => {
    await page.goto(`${stack.baseUrl}/viewer/${a.studyInstanceUID}`);
    await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
    expect((await layoutState(page)).layout).toBe('1x1');
    // 1×1: one viewport, no outline (nothing to tell apart).
    expect(await page.locator('[data-viewport-index]').count()).toBe(1);
    expect(await page.getByTestId('active-viewport').count()).toBe(0);

    const t0 = Date.now();
    await page.click('button[data-layout="2x2"]');
    await page.waitForFunction(() => window.__viewer!.getViewports().viewports.filter((v) => v.imageCount > 0).length === 4, null, { timeout: 30_000 });
    expect(await page.locator('[data-viewport-index]').count()).toBe(4);
    for (let i = 0; i < 4; i++) {
      await expect.poll(async () => (await cellStats(page, i)).nonBlack, { interval: 20, timeout: 15_000 }).toBeGreaterThan(0.1);
    }
    // A figure, not a limit (this box is shared): 1×1 → 2×2 until all four viewports are painted.
    console.log(`[layouts] 1×1 → 2×2, all four painted: ${Date.now() - t0} ms (the second series fetched cold)`);
    // The four cells tile the area: each canvas about half the 1×1 width.
    const boxes = await Promise.all([0, 1, 2, 3].map((i) => page.locator(`[data-viewport-index="${i}"]`).boundingBox()));
    expect(boxes[1]!.x).toBeGreaterThan(boxes[0]!.x + boxes[0]!.width - 4);
    expect(boxes[2]!.y).toBeGreaterThan(boxes[0]!.y + boxes[0]!.height - 4);
    // Viewport 0 is active and outlined.
    expect((await layoutState(page)).active).toBe(0);
    expect(await page.locator('[data-viewport-index="0"] [data-testid=active-viewport]').count()).toBe(1);

    // Drag the series that viewport 3 does not show from the series panel onto viewport 3.
    const before = (await layoutState(page)).viewports[3];
    const series0 = (await layoutState(page)).viewports[0].seriesUID;
    const other = before.seriesUID === a.seriesInstanceUID ? b.seriesInstanceUID : a.seriesInstanceUID;
    const hashBefore = (await cellStats(page, 3)).hash;
    await page.dragAndDrop(`.series-item[data-series-uid="${other}"]`, '[data-viewport-index="3"]');
    await page.waitForFunction((u) => window.__viewer!.getViewports().viewports[3].seriesUID === u, other, { timeout: 15_000 });
    const after = await layoutState(page);
    expect(after.active).toBe(3); // the drop target becomes the active viewport
    expect(after.viewports[0].seriesUID).toBe(series0); // the others keep theirs
    expect(await page.locator('[data-viewport-index="3"] [data-testid=active-viewport]').count()).toBe(1);
    await expect.poll(async () => (await cellStats(page, 3)).hash, { timeout: 15_000 }).not.toBe(hashBefore);
    expect((await cellStats(page, 3)).nonBlack).toBeGreaterThan(0.1);

    // Keys: 8 → 1×2; j → viewport 1; ] / [ → its series; ArrowDown scrolls it, not viewport 0.
    await page.keyboard.press('8');
    await page.waitForFunction(() => window.__viewer!.getViewports().layout === '1x2', null, { timeout: 5_000 });
    expect(await page.locator('[data-viewport-index]').count()).toBe(2);
    expect((await layoutState(page)).active).toBe(0); // viewport 3 is gone: back to 0
    await page.keyboard.press('j');
    await page.waitForFunction(() => window.__viewer!.getViewports().active === 1, null, { timeout: 5_000 });
    const s1 = (await layoutState(page)).viewports[1].seriesUID;
    // ] is the next series in the panel's order, [ the previous one.
    const order = await page.locator('.series-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-series-uid')));
    await page.keyboard.press(order.indexOf(s1) === 0 ? ']' : '[');
    const want = s1 === a.seriesInstanceUID ? b.seriesInstanceUID : a.seriesInstanceUID;
    await page.waitForFunction((u) => window.__viewer!.getViewports().viewports[1].seriesUID === u && window.__viewer!.getViewports().viewports[1].imageCount > 0, want, { timeout: 15_000 });
    const main = window0(await layoutState(page));
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => window.__viewer!.getViewports().viewports[1].imageIndex === 1, null, { timeout: 10_000 });
    expect(window0(await layoutState(page)).imageIndex).toBe(main.imageIndex);
    // 7 → back to 1×1, the single viewport as before.
    await page.keyboard.press('7');
    await page.waitForFunction(() => window.__viewer!.getViewports().layout === '1x1', null, { timeout: 5_000 });
    expect(await page.locator('[data-viewport-index]').count()).toBe(1);
    // The canvas is resized to the whole area, which clears it until the next render frame: poll.
    await expect.poll(async () => (await cellStats(page, 0)).nonBlack, { interval: 20, timeout: 10_000 }).toBeGreaterThan(0.1);
    // No earlier study of this patient: Compare with prior says so and stays 1×1.
    await page.keyboard.press('C');
    await expect.poll(() => page.getByTestId('layout-message').textContent().catch(() => ''), { timeout: 15_000 }).toMatch(/No relevant prior/);
    expect((await layoutState(page)).layout).toBe('1x1');
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('at 1280×800 the toolbar, the header alert and the AI panel are inside the window, none clipped, and the panel\'s text is at least 12 px', async () => {
    // A critical AI finding, listed in the AI panel (a header alert, where one is raised, is checked too).
    const rita = await login(stack.baseUrl, 'rita');
    const ds = parseDicomPart10(fs.readFileSync(a.files[2]));
    const finding = {
      id: 'L-ICH', studyInstanceUID: a.studyInstanceUID, type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' }, label: 'Intracranial haemorrhage',
      confidence: 0.96, severity: 'critical', model: { name: 'ich-detector', version: '1.2.0', manufacturer: 'Reading Station Demo' },
      regions: [{ image: { seriesInstanceUID: String(ds.SeriesInstanceUID), sopInstanceUID: String(ds.SOPInstanceUID), sopClassUID: String(ds.SOPClassUID) }, box: { x: 200, y: 180, width: 30, height: 30 } }],
    };
    expect((await rita.post('/api/findings', [finding])).status).toBe(201);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${stack.baseUrl}/viewer/${a.studyInstanceUID}`);
    await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
    await page.locator('[data-testid=findings-panel] li[data-finding-id="L-ICH"]').waitFor({ timeout: 30_000 });
    const report = await page.evaluate(() => {
      const W = window.innerWidth;
      const H = window.innerHeight;
      const out: string[] = [];
      const inside = (el: Element, what: string, box?: DOMRect) => {
        const r = el.getBoundingClientRect();
        const b = box ?? new DOMRect(0, 0, W, H);
        if (r.width === 0 && r.height === 0) return;
        if (r.left < b.left - 0.5 || r.right > b.right + 0.5 || r.top < b.top - 0.5 || r.bottom > b.bottom + 0.5) out.push(`${what}: [${Math.round(r.left)},${Math.round(r.top)} – ${Math.round(r.right)},${Math.round(r.bottom)}] outside [${Math.round(b.left)},${Math.round(b.top)} – ${Math.round(b.right)},${Math.round(b.bottom)}]`);
        // Text cut inside its own box (overflow hidden or scrolled).
        const h = el as HTMLElement;
        if (h.scrollWidth > h.clientWidth + 1 && getComputedStyle(h).overflowX !== 'visible') out.push(`${what}: content ${h.scrollWidth}px in ${h.clientWidth}px`);
      };
      const toolbar = document.querySelector('.viewer .toolbar')!;
      inside(toolbar, 'toolbar');
      const tb = toolbar.getBoundingClientRect();
      toolbar.querySelectorAll('button').forEach((b) => inside(b, `toolbar button "${b.textContent}"`, tb));
      document.querySelectorAll('.critical-alert').forEach((el) => inside(el, 'header alert'));
      const header = document.querySelector('.app-header')!;
      inside(header, 'header');
      header.querySelectorAll('a, button').forEach((el) => inside(el, `header item "${el.textContent}"`));
      const side = document.querySelector('.side-panel')!;
      inside(side, 'AI panel');
      const sb = side.getBoundingClientRect();
      side.querySelectorAll('.side-toolbar > *, .side-toolbar button').forEach((el) => inside(el, `AI panel control "${el.textContent?.slice(0, 30)}"`, sb));
      // Readable at arm's length: every piece of text in the side panel (findings, report, objects) at 12 px or more.
      const walker = document.createTreeWalker(side, NodeFilter.SHOW_TEXT);
      const small = new Set<string>();
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const el = n.parentElement;
        if (!el || !n.textContent?.trim() || el.getClientRects().length === 0) continue;
        const px = parseFloat(getComputedStyle(el).fontSize);
        if (px < 12) small.add(`${px}px: "${n.textContent.trim().slice(0, 30)}"`);
      }
      out.push(...small);
      return out;
    });
    expect(report).toEqual([]);
  }, 120_000);

  it('a finding is drawn in whichever viewport of a 2×2 shows its slice, by that viewport\'s own context', async () => {
    // L-ICH (posted above) is on the third slice of series a.
    const sop = String(parseDicomPart10(fs.readFileSync(a.files[2])).SOPInstanceUID);
    await page.keyboard.press('9');
    await page.waitForFunction(() => window.__viewer!.getViewports().viewports.filter((v) => v.imageCount > 0).length === 4, null, { timeout: 30_000 });
    const vps = (await page.evaluate(() => window.__viewer!.getViewports() as unknown as { viewports: (Vp & { sops: string[] })[] })).viewports;
    const k = vps.findIndex((v, i) => i > 0 && v.seriesUID === a.seriesInstanceUID);
    expect(k).toBeGreaterThan(0);
    for (let i = 0; i < k; i++) await page.keyboard.press('j');
    await page.waitForFunction((k) => window.__viewer!.getViewports().active === k, k, { timeout: 5_000 });
    const target = vps[k].sops.indexOf(sop);
    await page.keyboard.press('Home');
    for (let i = 0; i < target; i++) await page.keyboard.press('ArrowDown');
    await page.waitForFunction(([k, t]) => window.__viewer!.getViewports().viewports[k].imageIndex === t, [k, target] as const, { timeout: 10_000 });
    await page.locator(`[data-viewport-index="${k}"] [data-finding-id="L-ICH"]`).first().waitFor({ timeout: 10_000 });
    // Drawn over the image, inside that viewport.
    // The box itself (its label may run past a small cell's edge, where the cell clips it).
    const mark = (await page.locator(`[data-viewport-index="${k}"] [data-finding-id="L-ICH"] > polygon`).last().boundingBox())!;
    const cell = (await page.locator(`[data-viewport-index="${k}"]`).boundingBox())!;
    expect(mark.x).toBeGreaterThanOrEqual(cell.x);
    expect(mark.x + mark.width).toBeLessThanOrEqual(cell.x + cell.width);
    expect(mark.y).toBeGreaterThanOrEqual(cell.y);
    expect(mark.y + mark.height).toBeLessThanOrEqual(cell.y + cell.height);
    expect(pageErrors).toEqual([]);
  }, 120_000);
  it('a side viewport of 1×2 is a full viewport: its own corner text, measurements stored by the one path, cine when it is active', async () => {
    await page.keyboard.press('8');
    await page.waitForFunction(() => window.__viewer!.getViewports().layout === '1x2' && window.__viewer!.getViewports().viewports.filter((v) => v.imageCount > 0).length === 2, null, { timeout: 30_000 });
    for (let n = 0; n < 3 && (await layoutState(page)).active !== 1; n++) await page.keyboard.press('j');
    await page.waitForFunction(() => window.__viewer!.getViewports().active === 1, null, { timeout: 5_000 });
    await page.keyboard.press('Home');
    await page.waitForFunction(() => window.__viewer!.getViewports().viewports[1].imageIndex === 0, null, { timeout: 10_000 });
    let side = (await layoutState(page)).viewports[1];

    // Corner text, in words: the same patient and study as viewport 0 (one study), its own series,
    // slice, window and orientation.
    const mainPatient = ((await page.textContent('[data-testid=patient-info]')) ?? '').trim();
    const sidePatient = await spoken(page, 'patient-info-1', /\S/);
    expect(mainPatient.length).toBeGreaterThan(0);
    expect(sidePatient.slice(0, 20)).toBe(mainPatient.slice(0, 20));
    expect(await spoken(page, 'slice-info-1', new RegExp(`Im 1 / ${side.imageCount}`))).toContain(`Im 1 / ${side.imageCount}`);
    expect(await spoken(page, 'wl-info-1', /W \d+ L -?\d+/)).toMatch(/W \d+ L -?\d+/);
    expect(await spoken(page, 'orientation-markers-1', /left R/)).toContain('right L');
    // And painted: the side's slice and window corners have lit pixels, and the slice corner follows its own slice.
    await expect.poll(async () => (await cellCorner(page, 1, 'bl')).lit, { timeout: 10_000 }).toBeGreaterThan(20);
    expect((await cellCorner(page, 1, 'br')).lit).toBeGreaterThan(20);
    const blBefore = (await cellCorner(page, 1, 'bl')).hash;
    const main0 = (await layoutState(page)).viewports[0];
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => window.__viewer!.getViewports().viewports[1].imageIndex === 1, null, { timeout: 10_000 });
    await expect.poll(async () => (await cellCorner(page, 1, 'bl')).hash, { timeout: 10_000 }).not.toBe(blBefore);
    expect(await spoken(page, 'slice-info-1', new RegExp(`Im 2 / ${side.imageCount}`))).toContain('Im 2');
    // Viewport 0's own corner did not move.
    expect((await page.textContent('[data-testid=slice-info]')) ?? '').toContain(`Im ${main0.imageIndex + 1} / ${main0.imageCount}`);

    // A length drawn by mouse in the side viewport: stored with the study as viewport 0's are, on the
    // side's own image, and drawn on that viewport's annotation layer.
    const rita = await login(stack.baseUrl, 'rita');
    const stored = () => rita.json<{ measurements: { id: string; tool: string; seriesInstanceUID: string; sopInstanceUID: string; stats: { length?: number; unit?: string } }[] }>(`/api/studies/${a.studyInstanceUID}/measurements`);
    const idsBefore = new Set((await stored()).measurements.map((x) => x.id));
    side = (await layoutState(page)).viewports[1];
    const box = (await page.getByTestId('viewport-1').boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const r = Math.min(box.width, box.height) / 5;
    const from: [number, number] = [cx - r, cy - r / 2];
    const to: [number, number] = [cx + r, cy + r / 2];
    await page.keyboard.press('l');
    await page.mouse.move(from[0], from[1]);
    await page.mouse.down();
    await page.mouse.move(to[0], to[1], { steps: 10 });
    await page.mouse.up();
    const added = async () => (await stored()).measurements.filter((x) => !idsBefore.has(x.id));
    await expect.poll(async () => (await added()).length, { interval: 200, timeout: 15_000 }).toBe(1);
    const m = (await added())[0];
    expect(m.tool).toBe('length');
    expect(m.seriesInstanceUID).toBe(side.seriesUID);
    expect(m.sopInstanceUID).toBe(side.sops[side.imageIndex]);
    expect(m.stats.unit).toBe('mm');
    expect(m.stats.length).toBeGreaterThan(10);
    const mid: [number, number] = [(from[0] + to[0]) / 2, (from[1] + to[1]) / 2];
    const drawn = await cellAnnotationPixels(page, 1, mid);
    expect(drawn.near).toBeGreaterThan(4);
    expect(drawn.text).toMatch(/\d+(\.\d+)? mm/);
    await page.keyboard.press('w');

    // Cine with the side viewport active plays the side viewport, not viewport 0.
    const before0 = (await layoutState(page)).viewports[0].imageIndex;
    await page.keyboard.press('v');
    const seen = new Set<number>();
    await expect
      .poll(async () => {
        const v = (await layoutState(page)).viewports;
        seen.add(v[1].imageIndex);
        return seen.size;
      }, { interval: 30, timeout: 15_000 })
      .toBeGreaterThanOrEqual(3);
    let now = await layoutState(page);
    expect(now.viewports[1].cineOn).toBe(true);
    expect(now.viewports[0].cineOn).toBe(false);
    expect(now.viewports[0].imageIndex).toBe(before0);
    await page.keyboard.press('v');
    await page.waitForFunction(() => window.__viewer!.getViewports().viewports[1].cineOn === false, null, { timeout: 5_000 });
    now = await layoutState(page);
    expect(now.viewports[0].imageIndex).toBe(before0);

    // After a reload the stored length is drawn again in a side viewport showing its image.
    await page.reload();
    await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
    await page.waitForFunction(() => !!(window as { __measurements?: unknown }).__measurements, null, { timeout: 10_000 });
    await page.keyboard.press('8');
    await page.waitForFunction(() => window.__viewer!.getViewports().viewports.filter((v) => v.imageCount > 0).length === 2, null, { timeout: 30_000 });
    await page.keyboard.press('j');
    await page.waitForFunction(() => window.__viewer!.getViewports().active === 1, null, { timeout: 5_000 });
    if ((await layoutState(page)).viewports[1].seriesUID !== m.seriesInstanceUID) {
      const order = await page.locator('.series-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-series-uid')));
      await page.keyboard.press(order.indexOf(m.seriesInstanceUID) > order.indexOf((await layoutState(page)).viewports[1].seriesUID) ? ']' : '[');
      await page.waitForFunction((u) => window.__viewer!.getViewports().viewports[1].seriesUID === u && window.__viewer!.getViewports().viewports[1].imageCount > 0, m.seriesInstanceUID, { timeout: 15_000 });
    }
    const target = (await layoutState(page)).viewports[1].sops.indexOf(m.sopInstanceUID);
    await page.keyboard.press('Home');
    for (let i = 0; i < target; i++) await page.keyboard.press('ArrowDown');
    await page.waitForFunction(([t]) => window.__viewer!.getViewports().viewports[1].imageIndex === t, [target] as const, { timeout: 10_000 });
    await expect.poll(async () => (await cellAnnotationPixels(page, 1, mid)).near, { interval: 100, timeout: 10_000 }).toBeGreaterThan(4);
    expect(pageErrors).toEqual([]);
  }, 180_000);
  it('at 1280×800, in 1×1, 1×2 and 2×2, no two pieces of a viewport\'s overlay (corner text, orientation markers, scale bar) overlap on screen', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${stack.baseUrl}/viewer/${a.studyInstanceUID}`);
    await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
    for (const [key, layout, n] of [['7', '1x1', 1], ['8', '1x2', 2], ['9', '2x2', 4]] as const) {
      await page.keyboard.press(key);
      await page.waitForFunction(([l, n]) => window.__viewer!.getViewports().layout === l && window.__viewer!.getViewports().viewports.filter((v) => v.imageCount > 0).length === n, [layout, n] as const, { timeout: 30_000 });
      for (let i = 0; i < n; i++) {
        // Every piece painted first (orientation on all four edges, the scale bar, the three painted corners).
        await expect.poll(async () => (await overlayOverlaps(page, i)).pieces.length, { interval: 50, timeout: 10_000 }).toBe(9);
        expect((await overlayOverlaps(page, i)).overlaps, `${layout} viewport ${i}`).toEqual([]);
      }
    }
    await page.keyboard.press('7');
    expect(pageErrors).toEqual([]);
  }, 120_000);
});

function window0(s: Layouts): Vp {
  return s.viewports[0];
}