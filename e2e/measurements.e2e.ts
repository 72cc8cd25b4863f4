/**
 * Measurement tools (issue 15, item 1) in Chromium against the real gateway and Orthanc: a length
 * drawn with the mouse on the shared head CT equals, within 1 %, the distance computed from Pixel
 * Spacing and the drawn screen points (not from the viewer's own arithmetic); it is drawn on screen
 * (the annotation layer's pixels), stored with the study with the server's who and when, drawn again
 * after a reload, deleted and brought back by undo; ROI statistics are in HU; an image without Pixel
 * Spacing measures in px; after sign-off the server refuses changes.
 *
 * Data: three real head CT slices re-identified by dcmodify into a temp dir (one copy without Pixel
 * Spacing as a second study).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { annotationPixels, svgPixelsNear } from './lib/canvas.js';
import { HEAD_CT_DIR } from '../scripts/lib/demo-data.js';
import { uidFor } from '../scripts/lib/demo-studies.js';
import { login, waitFor, type Client, type Stack } from '../test/harness.js';
import type { Measurement } from '../src/core/measurements/measurement.js';

const CT_STUDY = uidFor('e2e-measure/ct/study');
const NOSPACING_STUDY = uidFor('e2e-measure/nospacing/study');
const PIXEL_SPACING_MM = 0.4882812;
const ROWS = 512;

function copies(work: string, name: string, extra: string[]): string[] {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  return ['10.dcm', '11.dcm', '12.dcm'].map((f, i) => {
    const dest = path.join(dir, f);
    fs.copyFileSync(path.join(HEAD_CT_DIR, f), dest);
    fs.chmodSync(dest, 0o644);
    execFileSync('dcmodify', [
      '-nb',
      '-i', `(0010,0010)=Measure^${name}`,
      '-i', '(0010,0020)=MEAS15',
      '-i', `(0020,000D)=${uidFor(`e2e-measure/${name}/study`)}`,
      '-i', `(0020,000E)=${uidFor(`e2e-measure/${name}/series`)}`,
      '-i', `(0008,0018)=${uidFor(`e2e-measure/${name}/sop/${i}`)}`,
      ...extra,
      dest,
    ]);
    return dest;
  });
}

async function open(page: Page, baseUrl: string, study: string): Promise<void> {
  await page.goto(`${baseUrl}/viewer/${study}`);
  await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
  await page.waitForFunction(() => !!(window as { __measurements?: { loaded: Promise<void> } }).__measurements, null, { timeout: 10_000 });
  await page.evaluate(() => (window as unknown as { __measurements: { loaded: Promise<void> } }).__measurements.loaded);
  await page.evaluate(() => new Promise((r) => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(r)), 200)));
}

/** The viewport's box and the image's scale in CSS px per image pixel (the square image fitted whole). */
async function geometry(page: Page) {
  const box = (await page.locator('[data-testid=viewport]').boundingBox())!;
  return { box, cssPerPixel: Math.min(box.width, box.height) / ROWS, cx: box.x + box.width / 2, cy: box.y + box.height / 2 };
}

async function drag(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  await page.mouse.move(from[0], from[1]);
  await page.mouse.down();
  await page.mouse.move(to[0], to[1], { steps: 10 });
  await page.mouse.up();
}


/** The length as the annotation writes it (Cornerstone rounds, e.g. "110 mm"): within 1 % of the stored figure. */
function expectShownLength(text: string, length: number): void {
  const shown = [...text.matchAll(/(\d+(?:\.\d+)?) mm(?!²)/g)].map((m) => Number(m[1]));
  expect(shown.some((v) => Math.abs(v - length) / length < 0.01), `${text} (stored ${length})`).toBe(true);
}

/** The window is still the header's: the type key 1 was the menu's, not the brain preset. */
async function expectOverlayWindowUnchanged(page: Page): Promise<void> {
  expect(await page.textContent('[data-testid=wl-info]')).not.toContain('W 80 L 40');
}

/** Pixels of the accepted-finding colour (#3ddc84) in the viewer's extension overlays (SVG rasterised) near a screen point. */
function acceptedMarkPixels(page: Page, at: [number, number]): Promise<number> {
  return svgPixelsNear(page, at, { selector: '.ext-overlay svg', all: true, half: 8, rgb: [61, 220, 132] }).then((r) => r.near);
}

describe('measurement tools (Chromium, real gateway + Orthanc)', () => {
  let stack: Stack;
  let browser: LaunchedBrowser;
  let page: Page;
  let work: string;
  let api: Client;
  const pageErrors: string[] = [];
  const stored = () => api.json<{ measurements: Measurement[]; locked: boolean }>(`/api/studies/${CT_STUDY}/measurements`);

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-e2e-measure-'));
    const files = [...copies(work, 'ct', []), ...copies(work, 'nospacing', ['-e', '(0028,0030)'])];
    stack = await startE2EStack({ files });
    api = await login(stack.baseUrl, 'rita');
    browser = await launchBrowser({ viewport: { width: 1280, height: 800 } });
    page = browser.page;
    page.on('pageerror', (e) => pageErrors.push(`${e.message} ${(e.stack ?? '').split('\n').slice(1, 3).join(' ')}`));
    await loginInBrowser(page, stack.baseUrl, 'rita');
    await open(page, stack.baseUrl, CT_STUDY);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  let lengthId = '';
  let mid: [number, number] = [0, 0];

  it('a length drawn on the CT equals the distance from Pixel Spacing within 1 %, is drawn, and is stored by the server', async () => {
    const g = await geometry(page);
    await page.keyboard.press('l');
    const a: [number, number] = [g.cx - 140, g.cy - 60];
    const b: [number, number] = [g.cx + 120, g.cy + 90];
    mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    await drag(page, a, b);
    const expectedMm = (Math.hypot(b[0] - a[0], b[1] - a[1]) / g.cssPerPixel) * PIXEL_SPACING_MM;
    const list = await waitFor('the length to be stored', async () => {
      const l = (await stored()).measurements.filter((m) => m.tool === 'length');
      return l.length ? l : null;
    }, 15_000);
    const m = list[0];
    lengthId = m.id;
    expect(m.stats.unit).toBe('mm');
    expect(Math.abs(m.stats.length! - expectedMm) / expectedMm).toBeLessThan(0.01);
    // The stored points say the same (patient coordinates in mm).
    expect(Math.abs(Math.hypot(...m.points[1].map((v, i) => v - m.points[0][i])) - expectedMm) / expectedMm).toBeLessThan(0.01);
    expect(m.createdBy).toBe('rita');
    expect(Date.now() - Date.parse(m.createdAt)).toBeLessThan(60_000);
    // On screen: the line's pixels at its midpoint, and its length written in mm.
    const px = await annotationPixels(page, mid);
    expect(px.near).toBeGreaterThan(4);
    expectShownLength(px.text, m.stats.length!);
    // The report's measurement table follows the save at once (told by the sync, not by a poll).
    const saved = Date.now();
    await expect.poll(() => page.getByTestId('report-measurements').innerText().catch(() => ''), { interval: 50, timeout: 10_000 }).toMatch(/Length/);
    expect(Date.now() - saved).toBeLessThan(1_500); // the old 5 s poll would mostly miss this
  });

  it('a rectangle ROI gives mean, SD, min, max in HU and its area in mm²; a probe gives HU', async () => {
    const g = await geometry(page);
    await page.keyboard.press('b');
    await drag(page, [g.cx - 40, g.cy + 120], [g.cx + 40, g.cy + 170]);
    await page.keyboard.press('k');
    await page.mouse.click(g.cx + 10, g.cy + 140);
    const [rect, probe] = await waitFor('the ROI and the probe', async () => {
      const l = (await stored()).measurements;
      const r = l.find((m) => m.tool === 'rectangle');
      const p = l.find((m) => m.tool === 'probe');
      return r && p ? [r, p] : null;
    }, 15_000);
    expect(rect.stats.modalityUnit).toBe('HU');
    expect(rect.stats.areaUnit).toMatch(/mm/);
    // 80 × 50 CSS px in mm² at this scale, within 3 % (the ROI snaps to whole pixels).
    const expectedArea = (80 / g.cssPerPixel) * PIXEL_SPACING_MM * ((50 / g.cssPerPixel) * PIXEL_SPACING_MM);
    expect(Math.abs(rect.stats.area! - expectedArea) / expectedArea).toBeLessThan(0.03);
    expect(rect.stats.min!).toBeLessThanOrEqual(rect.stats.mean!);
    expect(rect.stats.max!).toBeGreaterThanOrEqual(rect.stats.mean!);
    expect(rect.stats.stdDev!).toBeGreaterThanOrEqual(0);
    expect(probe.stats.modalityUnit).toBe('HU');
    expect(typeof probe.stats.value).toBe('number');
    expect(probe.stats.value!).toBeGreaterThanOrEqual(rect.stats.min!);
    expect(probe.stats.value!).toBeLessThanOrEqual(rect.stats.max!);
  });

  it('an angle (three clicks) equals the angle of the clicked points; an ellipse ROI has its area in mm² and HU figures', async () => {
    const g = await geometry(page);
    await page.keyboard.press('g');
    // Vertex in the middle; arms to the right and up-right at 45°: on a square-pixel image the angle is 45°.
    const p1: [number, number] = [g.cx + 110, g.cy - 150];
    const v: [number, number] = [g.cx + 10, g.cy - 150];
    const p3: [number, number] = [g.cx + 110, g.cy - 250];
    for (const p of [p1, v, p3]) {
      await page.mouse.click(p[0], p[1]);
      await page.waitForTimeout(450); // past Cornerstone's double-click window
    }
    await page.keyboard.press('c');
    await drag(page, [g.cx - 180, g.cy - 140], [g.cx - 100, g.cy - 80]);
    const [angle, ellipse] = await waitFor('the angle and the ellipse', async () => {
      const l = (await stored()).measurements;
      const a = l.find((m) => m.tool === 'angle');
      const e = l.find((m) => m.tool === 'ellipse');
      return a && e ? [a, e] : null;
    }, 15_000);
    expect(Math.abs(angle.stats.angle! - 45)).toBeLessThan(1);
    expect(angle.points).toHaveLength(3);
    // Cornerstone's ellipse is dragged from its centre: semi-axes 80 and 60 CSS px, area π · a · b in mm²
    // at this scale, within 5 % (the ellipse is rasterised on whole pixels).
    const expectedArea = Math.PI * (80 / g.cssPerPixel) * PIXEL_SPACING_MM * ((60 / g.cssPerPixel) * PIXEL_SPACING_MM);
    expect(Math.abs(ellipse.stats.area! - expectedArea) / expectedArea).toBeLessThan(0.05);
    expect(ellipse.stats.modalityUnit).toBe('HU');
    expect(ellipse.stats.min!).toBeLessThanOrEqual(ellipse.stats.mean!);
    const px = await annotationPixels(page, v);
    expect(px.near).toBeGreaterThan(4);
    const shownAngles = [...px.text.matchAll(/(\d+(?:\.\d+)?)\s*°/g)].map((m) => Number(m[1]));
    expect(shownAngles.some((a) => Math.abs(a - 45) < 1), px.text).toBe(true);
    await page.keyboard.press('w');
  });

  it('is drawn again after a reload, from the stored record', async () => {
    await open(page, stack.baseUrl, CT_STUDY);
    await page.waitForTimeout(300);
    const px = await annotationPixels(page, mid);
    expect(px.near).toBeGreaterThan(4);
    const m = (await stored()).measurements.find((x) => x.id === lengthId)!;
    expectShownLength(px.text, m.stats.length!);
  });

  it('delete removes it (record and screen); undo brings it back', async () => {
    await page.keyboard.press('w');
    // Select the line by clicking on it (passive measurement tools stay selectable), then Delete.
    await page.mouse.click(mid[0], mid[1]);
    // Cornerstone handles a press after its double-click window (about 400 ms).
    await page.waitForFunction((id) => (window as unknown as { __measurements: { selected(): string[] } }).__measurements.selected().join() === id, lengthId, { timeout: 5_000 });
    await page.keyboard.press('Delete');
    await waitFor('the deletion to be stored', async () => !(await stored()).measurements.some((m) => m.id === lengthId), 10_000);
    await page.waitForTimeout(200);
    expect((await annotationPixels(page, mid)).near).toBe(0);
    await page.keyboard.press('Alt+z');
    await waitFor('the undo to be stored', async () => (await stored()).measurements.some((m) => m.id === lengthId), 10_000);
    await page.waitForTimeout(200);
    expect((await annotationPixels(page, mid)).near).toBeGreaterThan(4);
  });

  it('an image without Pixel Spacing measures in px', async () => {
    await open(page, stack.baseUrl, NOSPACING_STUDY);
    const g = await geometry(page);
    await page.keyboard.press('l');
    await drag(page, [g.cx - 100, g.cy], [g.cx + 100, g.cy]);
    const m = await waitFor('the px length', async () => (await api.json<{ measurements: Measurement[] }>(`/api/studies/${NOSPACING_STUDY}/measurements`)).measurements[0], 15_000);
    expect(m.stats.unit).toBe('px');
    expect(Math.abs(m.stats.length! - 200 / g.cssPerPixel) / (200 / g.cssPerPixel)).toBeLessThan(0.01);
  });

  it('a finding the AI missed: drag a box, pick the type: stored as the radiologist\'s own, drawn, never labelled AI', async () => {
    await open(page, stack.baseUrl, CT_STUDY);
    const g = await geometry(page);
    await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('m');
    await page.getByTestId('missed-layer').waitFor();
    const a: [number, number] = [g.cx - 60, g.cy - 40];
    const b: [number, number] = [g.cx + 30, g.cy + 20];
    await drag(page, a, b);
    await page.getByTestId('missed-menu').waitFor();
    await page.keyboard.press('1'); // Intracranial hemorrhage, not the brain window preset
    type F = { id: string; source: string; status: string; label: string; regions: { box: { x: number; y: number; width: number; height: number } }[]; verdict?: { by: string } };
    const f = await waitFor('the radiologist finding', async () => (await api.json<{ findings: F[] }>(`/api/studies/${CT_STUDY}/findings`)).findings.find((x) => x.source === 'radiologist'), 10_000);
    expect(f).toMatchObject({ status: 'accepted', label: 'Intracranial hemorrhage', verdict: { by: 'rita' } });
    // The box in image pixels, from the drawn screen points and the fitted image (512 px square, centred).
    const u = (x: number) => ROWS / 2 + (x - g.cx) / g.cssPerPixel;
    const v = (y: number) => ROWS / 2 + (y - g.cy) / g.cssPerPixel;
    const box = f.regions[0].box;
    expect(Math.abs(box.x - u(a[0]))).toBeLessThan(1.5);
    expect(Math.abs(box.y - v(a[1]))).toBeLessThan(1.5);
    expect(Math.abs(box.width - 90 / g.cssPerPixel)).toBeLessThan(1.5);
    expect(Math.abs(box.height - 60 / g.cssPerPixel)).toBeLessThan(1.5);
    await expectOverlayWindowUnchanged(page);
    // Listed as the radiologist's, with no AI score.
    const row = page.locator('[data-status]', { hasText: 'Intracranial hemorrhage' }).filter({ hasText: 'Radiologist' });
    await row.first().waitFor();
    const text = (await row.first().textContent()) ?? '';
    expect(text).not.toMatch(/\bAI\b|%/);
    // Drawn by the findings overlay in the accepted colour along the box's top edge.
    await page.waitForTimeout(300);
    expect(await acceptedMarkPixels(page, [(a[0] + b[0]) / 2, a[1]])).toBeGreaterThan(3);
  });

  it('after sign-off the server refuses changes, and the viewer says so', async () => {
    const r = await api.post(`/api/studies/${CT_STUDY}/signoff`, { confirmUnverified: true, confirmAiPending: true });
    expect(r.status).toBeLessThan(300);
    const m = (await stored()).measurements[0];
    const put = await api.fetch(`/api/studies/${CT_STUDY}/measurements/${m.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tool: m.tool, seriesInstanceUID: m.seriesInstanceUID, sopInstanceUID: m.sopInstanceUID, frameNumber: m.frameNumber, points: m.points, stats: m.stats }),
    });
    expect(put.status).toBe(409);
    expect((await api.fetch(`/api/studies/${CT_STUDY}/measurements/${m.id}`, { method: 'DELETE' })).status).toBe(409);
    expect((await stored()).locked).toBe(true);
    await open(page, stack.baseUrl, CT_STUDY);
    await page.keyboard.press('l');
    await page.getByTestId('measure-message').waitFor();
    expect(await page.getByTestId('measure-message').textContent()).toContain('signed off');
  });

  it('no page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
