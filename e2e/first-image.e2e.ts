/**
 * The first image before the viewer's code: on a deep link the page draws the study's opening
 * slice from the gateway's opening stream while the Cornerstone chunk is still loading, and
 * Cornerstone then shows the same pixels in the same place. The chunk is held back here (routing),
 * so the preview is examined on its own, then compared with Cornerstone's rendering pixel by pixel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, Route } from 'playwright-core';
import { startE2EStack } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { CHEST_CR, headCtFiles } from '../scripts/lib/demo-data.js';
import { login, type Stack } from '../test/harness.js';
import { expectOverlayText } from './lib/canvas.js';

const HEAD_CT_STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const CR_STUDY = '1.2.392.200036.9125.0.199302241758.16';
const GRID = 64;

/** The canvas matching `selector`, its rect, and its pixels averaged down to GRID × GRID grey. */
function grab(page: Page, selector: string) {
  return page.evaluate(
    ({ selector, GRID }) => {
      const c = [...document.querySelectorAll<HTMLCanvasElement>(selector)].find((x) => x.clientWidth > 0);
      if (!c) return null;
      const small = document.createElement('canvas');
      small.width = GRID;
      small.height = GRID;
      const ctx = small.getContext('2d')!;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(c, 0, 0, GRID, GRID);
      const d = ctx.getImageData(0, 0, GRID, GRID).data;
      const grey: number[] = [];
      for (let i = 0; i < d.length; i += 4) grey.push((d[i] + d[i + 1] + d[i + 2]) / 3);
      const r = c.getBoundingClientRect();
      const wrap = document.querySelector('.viewport-wrap')?.getBoundingClientRect();
      return { grey, rect: [r.x, r.y, r.width, r.height], wrap: wrap ? [wrap.x, wrap.y, wrap.width, wrap.height] : null };
    },
    { selector, GRID },
  );
}

function compare(a: number[], b: number[]): { meanAbs: number; corr: number } {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  let abs = 0;
  for (let i = 0; i < n; i++) {
    cov += (a[i] - ma) * (b[i] - mb);
    va += (a[i] - ma) ** 2;
    vb += (b[i] - mb) ** 2;
    abs += Math.abs(a[i] - b[i]);
  }
  return { meanAbs: abs / n, corr: cov / Math.sqrt(va * vb) };
}

describe('first image before the viewer code (Chromium, real gateway + Orthanc)', () => {
  let stack: Stack;
  let browser: LaunchedBrowser;
  let cookie: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    stack = await startE2EStack({ files: [...headCtFiles(), CHEST_CR] });
    cookie = (await login(stack.baseUrl, 'rita')).cookie;
    browser = await launchBrowser({ viewport: { width: 1280, height: 800 } });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function openHeld(study: string): Promise<{ page: Page; release: () => void }> {
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const [name, value] = cookie.split('=');
    await browser.context.addCookies([{ name, value, url: stack.baseUrl }]);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route('**/assets/ViewerPage-*.js', async (route: Route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${stack.baseUrl}/viewer/${study}`);
    return { page, release };
  }

  for (const [label, study, minCorr] of [
    ['the head CT (header window)', HEAD_CT_STUDY, 0.99],
    ['the MONOCHROME1 chest CR (shown as a film)', CR_STUDY, 0.99],
  ] as const) {
    it(`${label}: the preview is the image Cornerstone then shows, in the same place`, async () => {
      const { page, release } = await openHeld(study);
      try {
        await page.waitForFunction(() => performance.getEntriesByName('viewer:first-image').length > 0, null, { timeout: 30_000 });
        const by = await page.evaluate(() => ((performance.getEntriesByName('viewer:first-image')[0] as PerformanceMark).detail as { by?: string } | null)?.by);
        expect(by).toBe('preview');
        // The viewer's code has not run: no Cornerstone canvas yet, only the preview.
        expect(await page.locator('.viewport-element').count()).toBe(0);
        await page.waitForSelector('[data-testid=first-frame-preview]');
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        const preview = (await grab(page, '[data-testid=first-frame-preview]'))!;
        expect(preview).not.toBeNull();
        // Exactly the viewport's box, and the boot canvas it replaced is gone.
        preview.rect.forEach((v, i) => expect(Math.abs(v - preview.wrap![i])).toBeLessThanOrEqual(1));
        expect(await page.locator('.boot-preview').count()).toBe(0);
        const lit = preview.grey.filter((g) => g > 20).length / preview.grey.length;
        expect(lit).toBeGreaterThan(0.1);

        release();
        await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        expect(await page.locator('[data-testid=first-frame-preview]').count()).toBe(0);
        const cs = (await grab(page, '.viewport-element canvas'))!;
        cs.rect.forEach((v, i) => expect(Math.abs(v - preview.rect[i])).toBeLessThanOrEqual(1));
        const d = compare(preview.grey, cs.grey);
        expect(d.corr).toBeGreaterThan(minCorr);
        expect(d.meanAbs).toBeLessThan(4);
        // Still one first-image mark: Cornerstone's render does not add a second.
        expect(await page.evaluate(() => performance.getEntriesByName('viewer:first-image').length)).toBe(1);
      } finally {
        release();
        await page.close();
      }
    });
  }

  it('keys pressed while the viewer code loads are not lost: replayed in order once it is interactive', async () => {
    const { page, release } = await openHeld(HEAD_CT_STUDY);
    try {
      await page.waitForSelector('[data-testid=first-frame-preview]', { timeout: 30_000 });
      const before = (await grab(page, '[data-testid=first-frame-preview]'))!;
      // The reader starts stepping and picks the bone window before Cornerstone exists.
      expect(await page.locator('.viewport-element').count()).toBe(0);
      for (const key of ['ArrowDown', 'ArrowDown', 'ArrowDown', '3']) await page.keyboard.press(key);
      release();
      await page.waitForFunction(() => window.__viewer?.getState().firstImageShown === true, null, { timeout: 60_000 });
      await page.waitForFunction(() => window.__viewer?.getState().imageIndex === 3, null, { timeout: 10_000 });
      await page.waitForFunction(() => document.querySelector('[data-testid=wl-info]')?.textContent?.includes('W 2800 L 600'), null, { timeout: 10_000 }).catch(async (e) => {
        throw new Error(`${(e as Error).message}; wl-info: ${await page.textContent('[data-testid=wl-info]')}; state: ${JSON.stringify(await page.evaluate(() => window.__viewer?.getState()))}`.slice(0, 1500));
      });
      await expectOverlayText(page, 'slice-info', 'Im 4 / 28');
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      // Pixels: slice 4 in the bone window is not the brain-window slice 1 of the preview.
      const after = (await grab(page, '.viewport-element canvas'))!;
      expect(compare(before.grey, after.grey).meanAbs).toBeGreaterThan(10);
      // Replayed once: keys after that act directly, one step each.
      await page.keyboard.press('ArrowDown');
      await page.waitForFunction(() => window.__viewer?.getState().imageIndex === 4, null, { timeout: 10_000 });
      await page.waitForTimeout(300);
      expect(await page.evaluate(() => window.__viewer?.getState().imageIndex)).toBe(4);
    } finally {
      release();
      await page.close();
    }
  });

  it('without a session nothing of the study is drawn: the log-in page shows', async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    try {
      const firstImage = page.waitForResponse((r) => r.url().endsWith('/opening'), { timeout: 30_000 });
      await page.goto(`${stack.baseUrl}/viewer/${HEAD_CT_STUDY}`);
      expect((await firstImage).status()).toBe(401);
      await page.waitForURL('**/login?next=*', { timeout: 30_000 });
      await page.waitForTimeout(500);
      expect(await page.locator('canvas').count()).toBe(0);
    } finally {
      await page.close();
    }
  });

  it('serves the production build (the figures and the reader get React without its development checks)', async () => {
    // vitest runs with NODE_ENV=test, under which a Vite build bundles React's development runtime.
    const page = await browser.context.newPage();
    try {
      const scripts: string[] = [];
      page.on('response', (r) => {
        if (r.url().endsWith('.js')) scripts.push(r.url());
      });
      await page.goto(`${stack.baseUrl}/`);
      await page.waitForSelector('.worklist-table, form', { timeout: 30_000 });
      expect(scripts.length).toBeGreaterThan(0);
      expect(scripts.filter((u) => u.includes('jsx-dev-runtime'))).toEqual([]);
      for (const u of scripts) expect(await (await fetch(u)).text(), u).not.toMatch(/react-dom\.development|Each child in a list should have a unique "key" prop/);
    } finally {
      await page.close();
    }
  });

  it('raised no uncaught exception in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
