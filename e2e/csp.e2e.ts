/**
 * The viewer works under the gateway's Content-Security-Policy, in real Chromium against the production
 * build: the head CT opens, every slice decodes (Cornerstone's WASM codecs in their workers) and the
 * in-browser AI runs to the end (onnxruntime-web's .mjs/.wasm from /ort/, WASM threads) with not one
 * CSP violation reported by the page or any of its workers. And the policy bites: eval is refused, and
 * the app cannot be framed, not even by itself (frame-ancestors 'none').
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleMessage, Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { headCtFiles } from '../scripts/lib/demo-data.js';
import type { Stack } from '../test/harness.js';

const HEAD_CT_STUDY = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';

declare global {
  interface Window {
    __cspViolations?: string[];
  }
}

let stack: Stack;
let browser: LaunchedBrowser;
let page: Page;
const consoleCsp: string[] = [];
const pageErrors: string[] = [];

/**
 * Polls a page-side value from Node (page.evaluate is a CDP call). Not page.waitForFunction: Playwright
 * compiles that predicate with eval inside the page, which the policy reports as a violation.
 */
async function until<T>(page: Page, what: string, read: () => T | Promise<T>, ok: (v: Awaited<T>) => boolean, timeoutMs: number): Promise<Awaited<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await page.evaluate(read);
    if (ok(v as Awaited<T>)) return v as Awaited<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const isCspMessage = (m: ConsoleMessage) => /Content Security Policy|Refused to (load|execute|create|compile|evaluate|frame|display|connect|apply)/i.test(m.text());

beforeAll(async () => {
  stack = await startE2EStack({ files: headCtFiles() });
  browser = await launchBrowser({ viewport: { width: 1400, height: 900 } });
  page = browser.page;
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations!.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
  });
  page.on('console', (m) => isCspMessage(m) && consoleCsp.push(`page: ${m.text()}`));
  page.on('worker', (w) => w.on('console', (m) => isCspMessage(m) && consoleCsp.push(`worker ${w.url()}: ${m.text()}`)));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await loginInBrowser(page, stack.baseUrl, 'rita');
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('viewer under the Content-Security-Policy', () => {
  it('opens the head CT, decodes every slice and runs the in-browser AI with no CSP violation', async () => {
    const main = await page.request.get(stack.baseUrl + '/');
    expect(main.headers()['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    await page.goto(`${stack.baseUrl}/viewer/${HEAD_CT_STUDY}`);
    await until(page, 'first image', () => performance.getEntriesByName('viewer:first-image').length, (n) => n > 0, 60_000);
    // The AI reports "AI wasm×N 28/28 · k findings · ..." once it has run over the whole stack.
    const status = await until(page, 'AI over the stack', () => document.querySelector('[data-testid="ai-status-text"]')?.textContent ?? '', (t) => /28\/28 · \d+ findings|error|unavailable/i.test(t), 150_000);
    expect(status).toMatch(/^AI wasm×\d 28\/28 · \d+ findings/);
    // Scrolling through decoded slices keeps working.
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => window.__cspViolations)).toEqual([]);
    expect(consoleCsp).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('the policy is enforced: string evaluation and inline scripts are refused, the app cannot be framed', async () => {
    // Run by the page itself (a string timer, an injected inline script), not by the test's CDP calls,
    // which Chrome exempts from the policy.
    await page.evaluate(() => {
      (window as unknown as Record<string, unknown>).__ran = [];
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      setTimeout('window.__ran.push("string-timer")' as unknown as () => void, 0);
      const s = document.createElement('script');
      s.textContent = 'window.__ran.push("inline-script")';
      document.head.appendChild(s);
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(await page.evaluate(() => (window as unknown as Record<string, unknown>).__ran)).toEqual([]);
    const v = await page.evaluate(() => window.__cspViolations ?? []);
    expect(v.some((x) => /^script-src(-elem)? eval/.test(x)), JSON.stringify(v)).toBe(true);
    expect(v.some((x) => /^script-src(-elem)? inline/.test(x)), JSON.stringify(v)).toBe(true);
    // Frame the app inside itself: frame-ancestors 'none' refuses even the same origin. (An about:blank
    // frame, the control, is readable: the check can tell a page from a refusal.)
    const framed = await page.evaluate(async () => {
      const frame = async (src: string) => {
        const f = document.createElement('iframe');
        f.src = src;
        const loaded = new Promise((r) => f.addEventListener('load', r, { once: true }));
        document.body.appendChild(f);
        await Promise.race([loaded, new Promise((r) => setTimeout(r, 10_000))]);
        await new Promise((r) => setTimeout(r, 300));
        let readable: boolean;
        try {
          readable = !!f.contentDocument?.body && f.contentWindow!.location.href === new URL(src, location.href).href && !!f.contentDocument.querySelector(src === 'about:blank' ? 'body' : '#root');
        } catch {
          readable = false;
        }
        f.remove();
        return readable;
      };
      return { app: await frame('/worklist'), control: await frame('about:blank') };
    });
    expect(framed).toEqual({ app: false, control: true });
  });
});
