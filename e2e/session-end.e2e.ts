/**
 * When a session ends while the worklist is open (logged out elsewhere, expired, idle), the page goes to
 * log-in and nothing keeps knocking at /api/events with a dead cookie. Real Chromium on the production
 * build, real gateway and Orthanc. The outcome as the user sees it: the page reaches log-in through the
 * first 401 any of its requests meets (the stream's own check is closeStreamIfSignedOut in
 * src/auth/api.ts, unit-tested in src/auth/api.test.ts, for a page whose only traffic is the stream).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import type { Stack } from '../test/harness.js';
import { CHEST_CR } from '../scripts/lib/demo-data.js';

let stack: Stack;
let browser: LaunchedBrowser;

beforeAll(async () => {
  stack = await startE2EStack({ files: [CHEST_CR] });
  browser = await launchBrowser();
  await loginInBrowser(browser.page, stack.baseUrl, 'rita');
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('session end with the worklist open', () => {
  it('the live stream stops reconnecting and the app goes to log-in', async () => {
    const page = browser.page;
    const streams: number[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/events') streams.push(Date.now());
    });
    await page.goto(stack.baseUrl + '/');
    await page.waitForSelector('.worklist-table tbody tr');
    await expect.poll(() => streams.length, { timeout: 10_000 }).toBeGreaterThan(0);

    // The session ends outside this page: logged out with its own cookie (as another tab would).
    const cookie = (await browser.context.cookies(stack.baseUrl)).map((c) => `${c.name}=${c.value}`).join('; ');
    const me = (await (await fetch(stack.baseUrl + '/api/auth/me', { headers: { cookie } })).json()) as { csrfToken: string };
    const out = await fetch(stack.baseUrl + '/api/auth/logout', { method: 'POST', headers: { cookie, 'x-csrf-token': me.csrfToken } });
    expect(out.status).toBeLessThan(300);

    // The gateway re-checks the session at its next ping (15 s) and ends the stream; the page goes to log-in.
    await page.waitForURL((u) => u.pathname === '/login', { timeout: 40_000 });
    const atLogin = streams.length;
    // And nothing keeps reconnecting (EventSource would retry every few seconds).
    await page.waitForTimeout(6_000);
    expect(streams.length).toBe(atLogin);
    expect(await page.isVisible('input[name=username]')).toBe(true);
  });
});
