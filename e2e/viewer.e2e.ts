/**
 * The viewer in real Chromium against the real gateway and Orthanc, on the real shared data.
 * Every "it shows" is proven by reading canvas pixels, not by looking at the DOM.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { canvasStats, expectOverlayText, paintedCorner, regionMean } from './lib/canvas.js';
import { CHEST_CR, REPO_ROOT, TRANSFER_SYNTAX_FILES, headCtFiles } from '../scripts/lib/demo-data.js';
import { CORRUPT_SERIES_DESCRIPTION, GALLERY_STUDY_UID, prepareDemoFiles } from '../scripts/lib/demo-studies.js';
import type { Stack } from '../test/harness.js';
import { slicePositions } from '../test/positions.js';

const HEAD_CT_STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const CR_STUDY = '1.2.392.200036.9125.0.199302241758.16';
const MULTIFRAME_STUDY = '999.999.2.19960619.163000';

const headCtPositions = () => slicePositions(headCtFiles());

type ViewerTestState = { imageIndex: number; imageCount: number; seriesUID: string | null; voi: { lower: number; upper: number } | null; activeSopInstanceUID: string | null; frameNumber: number | null; firstImageShown: boolean; imageError: string | null };

const state = (page: Page) => page.evaluate(() => window.__viewer!.getState() as unknown as ViewerTestState);

async function waitFirstImage(page: Page): Promise<void> {
  await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
  const marks = await page.evaluate(() => performance.getEntriesByName('viewer:first-image').length);
  expect(marks).toBe(1);
}

/** Waits until the viewport shows image `index` and has rendered it (two animation frames). */
async function waitIndex(page: Page, index: number): Promise<void> {
  await page.waitForFunction((i) => window.__viewer?.getState().imageIndex === i, index, { timeout: 30_000 });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

async function openSeries(page: Page, description: string): Promise<string> {
  const btn = page.locator('.series-item', { hasText: description }).first();
  const uid = (await btn.getAttribute('data-series-uid'))!;
  await btn.click();
  await page.waitForFunction(
    (u) => {
      const el = document.querySelector(`.series-item[data-series-uid="${u}"]`);
      return el && (el.getAttribute('data-status') === 'ready' || el.getAttribute('data-status') === 'error');
    },
    uid,
    { timeout: 30_000 },
  );
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  return uid;
}

describe('viewer (Chromium, real gateway + Orthanc)', () => {
  let stack: Stack;
  let browser: LaunchedBrowser;
  let page: Page;
  let work: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-e2e-viewer-'));
    const files = await prepareDemoFiles(work);
    stack = await startE2EStack({ files });
    browser = await launchBrowser({ viewport: { width: 1400, height: 900 } });
    page = browser.page;
    page.on('pageerror', (e) => pageErrors.push(`${e.message}\n${e.stack ?? ''}`));
    await loginInBrowser(page, stack.baseUrl, 'rita');
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('opens the head CT from the worklist with the keyboard and draws the first image', async () => {
    await page.waitForSelector('tr[data-study-uid]');
    const uids = await page.$$eval('tr[data-study-uid]', (rows) => rows.map((r) => r.getAttribute('data-study-uid')));
    expect(uids).toContain(HEAD_CT_STUDY);
    expect(uids).toContain(GALLERY_STUDY_UID);
    // Columns carry what the reader needs: patient, ID, modality, description, date, image count.
    const row = await page.locator(`tr[data-study-uid="${HEAD_CT_STUDY}"] td`).allTextContents();
    // The worklist's modality column reads "CT" or "CT · HEAD" (modality · body part); the image
    // count is no longer a column (the viewer checks the 28 slices below).
    expect(row.some((c) => /^CT\b/.test(c.trim()))).toBe(true);
    await page.locator('tr[data-study-uid]').first().focus();
    // The pre-read may re-sort the list while we walk it: steer towards the head CT's current row.
    for (let i = 0; i < 3 * uids.length; i++) {
      const order = await page.$$eval('tr[data-study-uid]', (rows) => rows.map((r) => r.getAttribute('data-study-uid')));
      const sel = await page.getAttribute('tr.selected', 'data-study-uid');
      if (sel === HEAD_CT_STUDY) break;
      await page.keyboard.press(order.indexOf(sel) < order.indexOf(HEAD_CT_STUDY) ? 'ArrowDown' : 'ArrowUp');
    }
    expect(await page.getAttribute('tr.selected', 'data-study-uid')).toBe(HEAD_CT_STUDY);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/viewer/${HEAD_CT_STUDY}`);
    await waitFirstImage(page);
    const s = await canvasStats(page);
    expect(s.width).toBeGreaterThan(200);
    // A CT slice on black: a good share of lit pixels with real contrast, not a blank canvas.
    expect(s.nonBlack).toBeGreaterThan(0.1);
    expect(s.std).toBeGreaterThan(20);
    const st = await state(page);
    expect(st.imageCount).toBe(28);
    await expectOverlayText(page, 'slice-info', 'Im 1 / 28');
    // Header window of this series is C 35 / W 100; the overlay prints what is applied.
    await expectOverlayText(page, 'wl-info', 'W 100 L 35');
    // The slice and window corners are painted, not DOM text: there must be lettering in them.
    expect((await paintedCorner(page, 'bl')).lit).toBeGreaterThan(20);
    expect((await paintedCorner(page, 'br')).lit).toBeGreaterThan(20);
  });

  it('scrolls through the whole stack in anatomical order (by position along the normal) to the last slice', async () => {
    const pos = headCtPositions();
    const seen: number[] = [];
    const firstLabel = await paintedCorner(page, 'bl');
    for (let i = 0; i < 28; i++) {
      if (i > 0) await page.keyboard.press('ArrowDown');
      await waitIndex(page, i);
      const st = await state(page);
      seen.push(pos.get(st.activeSopInstanceUID!)!);
    }
    expect(seen.every((v) => typeof v === 'number')).toBe(true);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]);
    // The gantry-tilted series has irregular gaps: the order still follows position.
    const gaps = seen.slice(1).map((v, i) => v - seen[i]);
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeGreaterThan(0.5);
    expect((await state(page)).imageIndex).toBe(27);
    await expectOverlayText(page, 'slice-info', 'Im 28 / 28');
    // The painted slice number followed the scroll ("Im 1" and "Im 28" differ in their pixels).
    const lastLabel = await paintedCorner(page, 'bl');
    expect(lastLabel.lit).toBeGreaterThan(20);
    expect(lastLabel.hash).not.toBe(firstLabel.hash);
    await page.keyboard.press('Home');
    await waitIndex(page, 0);
    await page.keyboard.press('End');
    await waitIndex(page, 27);
    await page.keyboard.press('PageUp');
    await waitIndex(page, 24);
    // The wheel scrolls too.
    const box = (await page.locator('[data-testid=viewport]').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -100);
    await page.waitForFunction(() => window.__viewer!.getState().imageIndex !== 24, null, { timeout: 10_000 });
  });

  it('a step is drawn in the key\'s own task, not on the next animation frame (a frame is not waited for)', async () => {
    // Frames counted by a requestAnimationFrame loop; each key and each Cornerstone render logged with
    // the count. Drawn on Cornerstone's own frame request, the render would come in a later frame than
    // its key (this loop's callback, asked for a frame earlier, runs first in every frame).
    await page.evaluate(() => {
      const w = window as unknown as { __frames: number; __stepLog: [string, number][] };
      w.__frames = 0;
      w.__stepLog = [];
      const tick = () => {
        w.__frames++;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      window.addEventListener('keydown', () => w.__stepLog.push(['key', w.__frames]), true);
      document.addEventListener('CORNERSTONE_IMAGE_RENDERED', () => w.__stepLog.push(['rendered', w.__frames]), true);
    });
    await page.keyboard.press('Home');
    await waitIndex(page, 0);
    await page.waitForTimeout(100);
    await page.evaluate(() => void ((window as unknown as { __stepLog: unknown[] }).__stepLog.length = 0));
    for (let i = 1; i <= 6; i++) {
      await page.keyboard.press('ArrowDown');
      await waitIndex(page, i);
      await page.waitForTimeout(30);
    }
    const log = await page.evaluate(() => (window as unknown as { __stepLog: [string, number][] }).__stepLog);
    const keys = log.map((e, i) => [e, i] as const).filter(([e]) => e[0] === 'key');
    expect(keys.length).toBe(6);
    for (const [[, frame], at] of keys) {
      const drawn = log.slice(at + 1).find((e) => e[0] === 'rendered');
      expect(drawn, JSON.stringify(log)).toBeDefined();
      expect(drawn![1], JSON.stringify(log)).toBe(frame);
    }
  });

  it('a window preset key changes the VOI and the pixels; reset restores', async () => {
    await page.keyboard.press('Home');
    await waitIndex(page, 0);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await waitIndex(page, 2);
    const before = await canvasStats(page);
    const headerWindowLabel = await paintedCorner(page, 'br');
    await page.keyboard.press('3'); // bone
    await page.waitForFunction(() => window.__viewer!.getState().voi?.upper! > 1000, null, { timeout: 10_000 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const after = await canvasStats(page);
    expect(after.hash).not.toBe(before.hash);
    expect(Math.abs(after.mean - before.mean)).toBeGreaterThan(2);
    await expectOverlayText(page, 'wl-info', 'W 2800 L 600');
    expect((await paintedCorner(page, 'br')).hash).not.toBe(headerWindowLabel.hash);
    // The window holds while scrolling, on screen and in the overlay text: the next slice is in bone
    // too (dark brain, nothing like the header window's bright one), and the text still says so.
    await page.keyboard.press('ArrowDown');
    await waitIndex(page, 3);
    const next = await canvasStats(page);
    expect(Math.abs(next.mean - after.mean)).toBeLessThan(Math.abs(next.mean - before.mean));
    await expectOverlayText(page, 'wl-info', 'W 2800 L 600');
    expect((await state(page)).voi!.upper).toBeGreaterThan(1900);
    await page.keyboard.press('ArrowUp');
    await waitIndex(page, 2);
    await page.keyboard.press('1'); // brain
    await page.waitForFunction(() => Math.round(window.__viewer!.getState().voi!.upper - window.__viewer!.getState().voi!.lower) === 79, null, { timeout: 10_000 });
    await expectOverlayText(page, 'wl-info', 'W 80 L 40');
    // Drag with the left button changes W/L too.
    const box = (await page.locator('[data-testid=viewport]').boundingBox())!;
    const v0 = (await state(page)).voi!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2 + 30, { steps: 5 });
    await page.mouse.up();
    const v1 = (await state(page)).voi!;
    expect(v1.upper - v1.lower).not.toBe(v0.upper - v0.lower);
    // Invert flips the picture.
    const beforeInvert = await canvasStats(page);
    await page.keyboard.press('i');
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const inverted = await canvasStats(page);
    expect(inverted.mean).toBeGreaterThan(beforeInvert.mean + 20);
    await page.keyboard.press('r');
    await page.waitForFunction(() => !window.__viewer!.getState().invert, null, { timeout: 10_000 });
    await expectOverlayText(page, 'wl-info', 'W 100 L 35');
  });

  it('takes the README screenshot of the head CT', async () => {
    await page.keyboard.press('End');
    await waitIndex(page, 27);
    await page.keyboard.press('PageUp');
    await page.keyboard.press('PageUp');
    await waitIndex(page, 21);
    await page.keyboard.press('1');
    await page.waitForFunction(() => window.__viewer!.getState().voi?.lower! > -1, null, { timeout: 10_000 });
    await page.waitForFunction(() => !document.querySelector('.series-item .thumb img') === false, null, { timeout: 10_000 }).catch(() => {});
    fs.mkdirSync(path.join(REPO_ROOT, 'docs'), { recursive: true });
    const file = path.join(REPO_ROOT, 'docs', 'screenshot-head-ct.png');
    await page.screenshot({ path: file });
    expect(fs.statSync(file).size).toBeGreaterThan(20_000);
  });

  it('lists every command with its keys in the ? help overlay', async () => {
    await page.keyboard.press('?');
    const dialog = page.locator('[role=dialog]');
    await dialog.waitFor();
    const text = (await dialog.textContent()) ?? '';
    for (const label of ['Next image', 'Last image', 'Window preset: Brain', 'Window preset: Lung', 'Invert grey scale', 'Reset view']) expect(text).toContain(label);
    expect(await dialog.locator('tr[data-command="viewer.preset.bone"] .key').textContent()).toBe('3');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('shows the MONOCHROME1 chest CR as a film: lung fields darker than the mediastinum', async () => {
    // A deep link reads the study's metadata once (the page's prefetch), never again per series.
    const metadataReqs: string[] = [];
    const onReq = (r: { url(): string }) => void (/\/metadata(\?|$)/.test(r.url()) && metadataReqs.push(new URL(r.url()).pathname));
    page.on('request', onReq);
    await page.goto(`${stack.baseUrl}/viewer/${CR_STUDY}`);
    await waitFirstImage(page);
    await page.waitForFunction(() => (window.__viewer?.getState().imageCount ?? 0) > 0, null, { timeout: 30_000 });
    page.off('request', onReq);
    expect(metadataReqs).toEqual([`/dicom-web/studies/${CR_STUDY}/metadata`]);
    const s = await canvasStats(page);
    // Square image fitted into the canvas height, centred.
    const aspect = s.height / s.width;
    const fx = (f: number) => 0.5 + (f - 0.5) * aspect;
    const mediastinum = await regionMean(page, fx(0.5), 0.5, 8);
    const rightLung = await regionMean(page, fx(0.25), 0.45, 8);
    const leftLung = await regionMean(page, fx(0.72), 0.45, 8);
    expect(mediastinum).toBeGreaterThan(rightLung + 25);
    expect(mediastinum).toBeGreaterThan(leftLung + 25);
  });

  it('decodes every transfer syntax in the gallery (pixel check per series) and shows the corrupt one as an error', async () => {
    await page.goto(`${stack.baseUrl}/viewer/${GALLERY_STUDY_UID}`);
    await waitFirstImage(page);
    const descriptions = await page.$$eval('.series-item .series-desc', (els) => els.map((e) => e.textContent ?? ''));
    for (const t of TRANSFER_SYNTAX_FILES) expect(descriptions).toContain(t.syntax);
    expect(descriptions).toContain(CORRUPT_SERIES_DESCRIPTION);
    const results: Record<string, { std: number; error: string | null }> = {};
    for (const t of TRANSFER_SYNTAX_FILES) {
      const uid = await openSeries(page, t.syntax);
      await page.waitForFunction(
        (u) => {
          const st = window.__viewer!.getState();
          return st.seriesUID === u && (st.loadedCount > 0 || st.imageError !== null);
        },
        uid,
        { timeout: 30_000 },
      );
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const st = await state(page);
      const px = await canvasStats(page);
      results[t.syntax] = { std: px.std, error: st.imageError };
    }
    for (const t of TRANSFER_SYNTAX_FILES) {
      expect(results[t.syntax], t.syntax).toMatchObject({ error: null });
      expect(results[t.syntax].std, `${t.syntax} has image contrast`).toBeGreaterThan(5);
    }
    expect(await page.locator('[data-testid=viewer-error]').count()).toBe(0);

    await openSeries(page, CORRUPT_SERIES_DESCRIPTION);
    await page.waitForSelector('[data-testid=viewer-error]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid=viewer-error]')).toMatch(/could not be decoded/i);
    expect(await page.locator('.series-item.has-error', { hasText: CORRUPT_SERIES_DESCRIPTION }).count()).toBe(1);
    // The rest of the study still reads.
    await openSeries(page, 'JPEG 2000 Lossless');
    await page.waitForFunction(() => window.__viewer!.getState().imageError === null, null, { timeout: 15_000 });
    expect(await page.locator('[data-testid=viewer-error]').count()).toBe(0);
    expect((await canvasStats(page)).std).toBeGreaterThan(5);
  });

  it('scrolls a multi-frame instance frame by frame', async () => {
    await page.goto(`${stack.baseUrl}/viewer/${MULTIFRAME_STUDY}`);
    await waitFirstImage(page);
    const st = await state(page);
    expect(st.imageCount).toBe(16);
    const first = await canvasStats(page);
    await page.keyboard.press('End');
    await waitIndex(page, 15);
    const last = await state(page);
    expect(last.frameNumber).toBe(16);
    expect(last.activeSopInstanceUID).toBe(st.activeSopInstanceUID);
    await page.waitForFunction(() => window.__viewer!.getState().loadedCount >= 16, null, { timeout: 30_000 });
    expect((await canvasStats(page)).hash).not.toBe(first.hash);
  });

  it('a study deleted from Orthanc mid-session gives a clear error, not a blank screen', async () => {
    await page.goto(`${stack.baseUrl}/viewer/${GALLERY_STUDY_UID}`);
    await waitFirstImage(page);
    const studies = (await (await stack.orthanc.rest('/studies?expand')).json()) as { ID: string; MainDicomTags: { StudyInstanceUID: string } }[];
    const orthancId = studies.find((s) => s.MainDicomTags.StudyInstanceUID === GALLERY_STUDY_UID)!.ID;
    const del = await stack.orthanc.rest(`/studies/${orthancId}`, { method: 'DELETE' });
    expect(del.ok).toBe(true);
    await openSeries(page, 'HTJ2K Lossless'); // not loaded yet: its metadata is now gone
    await page.waitForSelector('[data-testid=viewer-error]', { timeout: 30_000 });
    await page.waitForFunction(() => /no longer on the PACS/.test(document.querySelector('[data-testid=viewer-error]')?.textContent ?? ''), null, { timeout: 15_000 });
    expect(await page.textContent('[data-testid=viewer-error]')).toMatch(/not found/);
    // A fresh visit says the same, without a spinner.
    await page.reload();
    await page.waitForSelector('[data-testid=viewer-error]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid=viewer-error]')).toMatch(/no longer on the PACS/);
    expect(await page.locator('.viewport-status').count()).toBe(0);
  });

  it('Tab moves keyboard focus out of the image (Cornerstone would swallow it)', async () => {
    await page.goto(`${stack.baseUrl}/viewer/${HEAD_CT_STUDY}`);
    await waitFirstImage(page);
    await page.locator('[data-testid=viewport]').click();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('viewport');
    await page.keyboard.press('Tab');
    const after = await page.evaluate(() => ({ id: document.activeElement?.getAttribute('data-testid'), tag: document.activeElement?.tagName }));
    expect(after.id).not.toBe('viewport');
    expect(after.tag).not.toBe('BODY');
    // The image still takes its keys once focused again.
    await page.locator('[data-testid=viewport]').click();
    await page.keyboard.press('ArrowDown');
    await waitIndex(page, 1);
  });

  it('raised no uncaught exception in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
