/**
 * Context on the image (issue 15, item 3), in Chromium against the real gateway and Orthanc, proven
 * on painted pixels: patient/study lines, slice location and thickness, orientation markers from
 * Image Orientation (Patient) and a scale bar whose length on screen is checked against the Pixel
 * Spacing (not against the viewer's own arithmetic); W/L presets per modality; zoom drag direction;
 * Esc never leaves the study.
 *
 * Data: three real head CT slices re-identified by dcmodify into a temp dir (sex, age, date and
 * accession set, since the shared series has none), and the shared 6-slice MR series.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { expectOverlayText } from './lib/canvas.js';
import { DICOM, HEAD_CT_DIR, mrSeriesFiles } from '../scripts/lib/demo-data.js';
import { uidFor } from '../scripts/lib/demo-studies.js';
import type { Stack } from '../test/harness.js';

const CT_STUDY = uidFor('e2e-context/ct/study');
const MR_STUDY = '1.3.12.2.1107.5.2.32.35162.30000012020622041507900000157';
/** A shared 16-frame MR instance (dwv). */
const MULTIFRAME_FILE = path.join(DICOM, 'dwv', 'tests', 'data', 'multiframe-test1.dcm');
const MULTIFRAME_STUDY = '999.999.2.19960619.163000';
/** The head CT: 512 rows of 0.4882812 mm (Pixel Spacing), so the image is 250 mm tall and wide. */
const CT_EXTENT_MM = 512 * 0.4882812;

/** Window Center / Width of the shared MR slice with this SOP Instance UID, read by dcmdump. */
function mrHeaderWindow(sop: string): { center: number; width: number } {
  for (const f of mrSeriesFiles()) {
    const d = execFileSync('dcmdump', ['+P', '0008,0018', '+P', '0028,1050', '+P', '0028,1051', f], { encoding: 'utf8' });
    if (!d.includes(`[${sop}]`)) continue;
    const v = (tag: string) => Number(new RegExp(`\\(${tag}\\) DS \\[([^\\]\\\\]+)`).exec(d)![1]);
    return { center: v('0028,1050'), width: v('0028,1051') };
  }
  throw new Error(`no shared MR slice ${sop}`);
}

function ctFiles(work: string): string[] {
  return ['10.dcm', '11.dcm', '12.dcm'].map((f, i) => {
    const dest = path.join(work, f);
    fs.copyFileSync(path.join(HEAD_CT_DIR, f), dest);
    fs.chmodSync(dest, 0o644);
    execFileSync('dcmodify', [
      '-nb',
      '-i', '(0010,0010)=Context^Test',
      '-i', '(0010,0020)=CTX15',
      '-i', '(0010,0040)=F',
      '-i', '(0010,1010)=045Y',
      '-i', '(0008,0020)=20260102',
      '-i', '(0008,0050)=ACC15',
      '-i', `(0020,000D)=${CT_STUDY}`,
      '-i', `(0020,000E)=${uidFor('e2e-context/ct/series')}`,
      '-i', `(0008,0018)=${uidFor(`e2e-context/ct/sop/${i}`)}`,
      dest,
    ]);
    return dest;
  });
}

async function settle(page: Page): Promise<void> {
  await page.evaluate(() => new Promise((r) => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(r)), 100)));
}

/** Lit pixels of a painted overlay canvas, and a hash to tell two paintings apart. */
function painted(page: Page, selector: string): Promise<{ lit: number; hash: number }> {
  return page.evaluate((selector) => {
    const c = document.querySelector(selector) as HTMLCanvasElement | null;
    if (!c || !c.width) throw new Error(`nothing painted in ${selector}`);
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    let hash = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 128 && d[i] > 128) lit++;
      hash = (hash * 31 + d[i] + 7 * d[i + 3]) | 0;
    }
    return { lit, hash };
  }, selector);
}

/** The scale bar as painted: its longest horizontal run of lit pixels, in CSS pixels. */
function paintedBarLength(page: Page): Promise<number> {
  return page.evaluate(() => {
    const c = document.querySelector('[data-testid=scale-bar-canvas]') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let best = 0;
    for (let y = 0; y < c.height; y++) {
      let run = 0;
      for (let x = 0; x < c.width; x++) {
        const i = (y * c.width + x) * 4;
        run = d[i + 3] > 128 && d[i] > 128 ? run + 1 : 0;
        best = Math.max(best, run);
      }
    }
    return best / (c.width / c.getBoundingClientRect().width);
  });
}

const zoomOf = (page: Page) => page.evaluate(() => (window.__viewer!.getState() as unknown as { zoom: number }).zoom);
const wl = (page: Page) => page.textContent('[data-testid=wl-info]').then((t) => t ?? '');

describe('context on the image (Chromium, real gateway + Orthanc)', () => {
  let stack: Stack;
  let browser: LaunchedBrowser;
  let page: Page;
  let work: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-e2e-context-'));
    stack = await startE2EStack({ files: [...ctFiles(work), ...mrSeriesFiles(), MULTIFRAME_FILE] });
    browser = await launchBrowser({ viewport: { width: 1280, height: 800 } });
    page = browser.page;
    page.on('pageerror', (e) => pageErrors.push(`${e.message} ${(e.stack ?? '').split('\n').slice(1, 3).join(' ')}`));
    await loginInBrowser(page, stack.baseUrl, 'rita');
    await page.goto(`${stack.baseUrl}/viewer/${CT_STUDY}`);
    await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
    await settle(page);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('names patient, ID, age and sex, study date, accession and series; slice location and thickness are painted', async () => {
    const text = (await page.textContent('[data-testid=patient-info]')) ?? '';
    for (const s of ['Context, Test', 'CTX15 · 45 y F', '2026-01-02 · Acc ACC15', 'CT']) expect(text).toContain(s);
    // The shared slices carry Slice Location and a 4 mm Slice Thickness.
    await expectOverlayText(page, 'slice-info', 'Thk 4 mm');
    const first = await page.textContent('[data-testid=slice-info]');
    expect(first).toMatch(/Loc -?\d+(\.\d+)? mm/);
    const paintedFirst = await painted(page, '.overlay-text .bl canvas');
    await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('ArrowDown');
    await expectOverlayText(page, 'slice-info', 'Im 2 / 3');
    const second = await page.textContent('[data-testid=slice-info]');
    expect(second).not.toBe(first); // the location moved with the slice
    const paintedSecond = await painted(page, '.overlay-text .bl canvas');
    expect(paintedSecond.lit).toBeGreaterThan(40);
    expect(paintedSecond.hash).not.toBe(paintedFirst.hash);
  });

  it('paints orientation markers from Image Orientation (Patient): R/L, and AH/PF for the tilted gantry', async () => {
    expect(await page.textContent('[data-testid=orientation-markers]')).toBe('left R, right L, top AH, bottom PF');
    const m = {
      left: await painted(page, 'canvas[data-marker=left]'),
      right: await painted(page, 'canvas[data-marker=right]'),
      top: await painted(page, 'canvas[data-marker=top]'),
      bottom: await painted(page, 'canvas[data-marker=bottom]'),
    };
    for (const v of Object.values(m)) expect(v.lit).toBeGreaterThan(10);
    expect(m.left.hash).not.toBe(m.right.hash);
    expect(m.top.hash).not.toBe(m.bottom.hash);
    // Two letters take more ink than one.
    expect(m.top.lit).toBeGreaterThan(m.left.lit);
  });

  it('paints a scale bar whose length on screen is its label in mm at the image scale from Pixel Spacing', async () => {
    const check = async () => {
      const { w, h } = await page.evaluate(() => {
        const r = document.querySelector('[data-testid=viewport]')!.getBoundingClientRect();
        return { w: r.width, h: r.height };
      });
      const label = (await page.textContent('[data-testid=scale-bar]')) ?? '';
      const m = /^(\d+(?:\.\d+)?) (cm|mm) =/.exec(label);
      expect(m, label).not.toBeNull();
      const barMm = Number(m![1]) * (m![2] === 'cm' ? 10 : 1);
      return { barMm, w, h, painted: await paintedBarLength(page) };
    };
    const a = await check();
    // Fitted: the 250 mm square fills the viewport's shorter side.
    const mmPerPx = CT_EXTENT_MM / Math.min(a.w, a.h);
    expect(Math.abs(a.painted - a.barMm / mmPerPx)).toBeLessThanOrEqual(2);
    // Zoomed in by 1.25 twice: the same bar length in mm is 1.5625 × longer, or a shorter length is chosen.
    await page.keyboard.press('+');
    await page.keyboard.press('+');
    await settle(page);
    await page.waitForTimeout(300);
    const b = await check();
    expect(Math.abs(b.painted - (b.barMm / mmPerPx) * 1.5625)).toBeLessThanOrEqual(2);
    await page.keyboard.press('r');
    await settle(page);
  });

  it('zoom drag: up zooms in, down zooms out', async () => {
    await page.keyboard.press('z');
    const box = (await page.locator('[data-testid=viewport]').boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const before = await zoomOf(page);
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(cx, cy - 60, { steps: 6 });
    await page.mouse.up();
    await settle(page);
    const up = await zoomOf(page);
    expect(up).toBeGreaterThan(before * 1.1);
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(cx, cy + 120, { steps: 8 });
    await page.mouse.up();
    await settle(page);
    expect(await zoomOf(page)).toBeLessThan(up * 0.9);
    await page.keyboard.press('w');
    await page.keyboard.press('r');
  });

  it('remapping a key that is already bound warns and asks: Esc keeps it, Enter moves it', async () => {
    await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('?');
    const dialog = page.locator('[role=dialog]');
    await dialog.waitFor();
    const key = (command: string) => dialog.locator(`tr[data-command="${command}"] .key`).textContent();
    expect(await key('viewer.invert')).toBe('i');
    await dialog.locator('tr[data-command="viewer.invert"] .key').click();
    await page.keyboard.press('r'); // bound to reset
    const warn = page.getByTestId('remap-conflict');
    await warn.waitFor();
    expect(await warn.textContent()).toContain('Reset view');
    await page.keyboard.press('Escape');
    await warn.waitFor({ state: 'detached' });
    expect(await key('viewer.invert')).toBe('i');
    expect(await key('viewer.reset')).toBe('r');
    expect(await dialog.count()).toBe(1); // Esc answered the question, it did not close the help
    await dialog.locator('tr[data-command="viewer.invert"] .key').click();
    await page.keyboard.press('r');
    await warn.waitFor();
    await page.keyboard.press('Enter');
    await warn.waitFor({ state: 'detached' });
    expect(await key('viewer.invert')).toBe('r');
    expect(await key('viewer.reset')).toBe('—');
    await dialog.getByText('Restore default keys').click();
    expect(await key('viewer.reset')).toBe('r');
    await dialog.getByText('Close (Esc)').click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('Esc never leaves the study; Shift+Esc goes back to the worklist', async () => {
    await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await page.waitForTimeout(500);
    expect(new URL(page.url()).pathname).toBe(`/viewer/${CT_STUDY}`);
    await page.keyboard.press('Shift+Escape');
    await page.waitForURL((u) => u.pathname === '/', { timeout: 10_000 });
  });

  it('presets per modality: CT presets on CT; MR starts from its own window and offers its own', async () => {
    await page.goto(`${stack.baseUrl}/viewer/${CT_STUDY}`);
    await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
    expect(await page.locator('.toolbar [data-preset=brain]').count()).toBe(1);
    await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('1');
    await expectOverlayText(page, 'wl-info', 'W 80 L 40');

    await page.goto(`${stack.baseUrl}/viewer/${MR_STUDY}`);
    await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
    await settle(page);
    // The MR opens on its first slice's header window, and no CT preset is offered.
    const first = (await page.evaluate(() => window.__viewer!.getState().activeSopInstanceUID))!;
    const header = mrHeaderWindow(first);
    await expectOverlayText(page, 'wl-info', `W ${header.width} L ${header.center}`);
    expect(await page.locator('.toolbar [data-preset=brain]').count()).toBe(0);
    const labels = await page.locator('.toolbar [data-preset^=slot-]').allTextContents();
    expect(labels).toEqual(['Image default', 'Full range', 'High contrast']);
    await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('3');
    // Half the width about the same centre.
    await expectOverlayText(page, 'wl-info', `W ${Math.round(header.width / 2)} L ${header.center}`);
    // A CT key with no MR preset does nothing (never a CT window on an MR).
    await page.keyboard.press('4');
    await page.keyboard.press('5');
    await page.waitForTimeout(400);
    expect(await wl(page)).toContain(`W ${Math.round(header.width / 2)} L ${header.center}`);
    await page.keyboard.press('1');
    await expectOverlayText(page, 'wl-info', `W ${header.width} L ${header.center}`);
    await page.keyboard.press('2');
    await page.waitForTimeout(400);
    expect(await wl(page)).not.toContain(`W ${header.width} L ${header.center}`);
  });

  it('cine plays the stack at its frame rate, looping, on screen; faster and stop', async () => {
    // On the 6-slice MR from the test before.
    const sample = () =>
      page.evaluate(() => {
        const c = document.querySelector('.viewport-element canvas') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let h = 0;
        for (let i = 0; i < d.length; i += 4 * 97) h = (h * 31 + d[i]) | 0;
        return { index: window.__viewer!.getState().imageIndex, hash: h };
      });
    await page.keyboard.press('v');
    await expectOverlayText(page, 'slice-info', 'Im');
    const seen: { index: number; hash: number }[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 1500) {
      seen.push(await sample());
      await page.waitForTimeout(40);
    }
    const indices = new Set(seen.map((x) => x.index));
    expect(indices.size).toBeGreaterThanOrEqual(5); // 10 frames/s over 1.5 s through 6 slices
    expect(new Set(seen.map((x) => x.hash)).size).toBeGreaterThanOrEqual(5); // the pixels change with them
    // It loops: after the last slice comes the first.
    expect(seen.some((x, i) => i > 0 && seen[i - 1].index === 5 && x.index === 0)).toBe(true);
    expect(await page.evaluate(() => (window.__viewer!.getState() as unknown as { cineFps: number }).cineFps)).toBe(10);
    await page.keyboard.press('>');
    expect(await page.evaluate(() => (window.__viewer!.getState() as unknown as { cineFps: number }).cineFps)).toBe(15);
    await page.keyboard.press('v');
    await page.waitForTimeout(300);
    const stopped = await sample();
    await page.waitForTimeout(600);
    expect((await sample()).index).toBe(stopped.index);
  });

  it('the series panel counts the frames of a multi-frame instance', async () => {
    await page.goto(`${stack.baseUrl}/viewer/${MULTIFRAME_STUDY}`);
    await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector('.series-item .series-sub')?.textContent?.includes('16 frames'), null, { timeout: 15_000 });
    expect(await page.textContent('.series-item .series-sub')).toBe('MR · 1 image · 16 frames');
    expect((await page.evaluate(() => window.__viewer!.getState().imageCount))).toBe(16);
  });

  it('no page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
