/**
 * Trust controls in the real app: real Chromium, the production build served by the real gateway,
 * a real Orthanc with the demo head CT. A radiologist switches AI off for the open study from the
 * viewer toolbar (inline reason menu) and back on; an admin uses the admin page (users, policy,
 * rollout switch). Each UI act is checked against the gateway's own answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { login, type Stack, type Client } from '../test/harness.js';
import { headCtFiles } from '../scripts/lib/demo-data.js';

const CT = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
let stack: Stack;
let browser: LaunchedBrowser;
let ada: Client;

beforeAll(async () => {
  stack = await startE2EStack({ files: headCtFiles().slice(0, 4) });
  browser = await launchBrowser();
  ada = await login(stack.baseUrl, 'ada');
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('trust controls in the browser', () => {
  it('a radiologist disables AI for the open study with a reason from the inline menu, and re-enables it', async () => {
    const page = await browser.newPage();
    await loginInBrowser(page, stack.baseUrl, 'rita');
    await page.goto(`${stack.baseUrl}/viewer/${CT}`);
    const summary = page.locator('[data-testid=ai-status-summary]');
    await summary.waitFor({ timeout: 60_000 });
    await page.locator('[data-testid=ai-disable-study]').click();
    await page.locator('[role=menu] [data-reason=research-protocol]').click();
    await page.locator('[data-testid=ai-enable-study]').waitFor({ timeout: 20_000 });
    await expect.poll(() => summary.textContent(), { timeout: 20_000 }).toContain('Research protocol');
    const rita = await login(stack.baseUrl, 'rita');
    const st = await rita.json<{ disabled: { scope: string; reason: string } | null }>(`/api/studies/${CT}/ai-status`);
    expect(st.disabled).toMatchObject({ scope: 'study', reason: 'Research protocol: read without AI' });
    await page.locator('[data-testid=ai-enable-study]').click();
    await page.locator('[data-testid=ai-disable-study]').waitFor({ timeout: 20_000 });
    expect((await rita.json<{ disabled: unknown }>(`/api/studies/${CT}/ai-status`)).disabled).toBeNull();
    await page.close();
  });

  it('a technologist sees the AI status but no switch', async () => {
    const page = await browser.newPage();
    await loginInBrowser(page, stack.baseUrl, 'toby');
    await page.goto(`${stack.baseUrl}/viewer/${CT}`);
    await page.locator('[data-testid=ai-status-summary]').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-testid=ai-disable-study]').count()).toBe(0);
    await page.close();
  });

  it('an admin sees users and the policy, and switches a model to silent', async () => {
    const page = await browser.newPage();
    await loginInBrowser(page, stack.baseUrl, 'ada');
    await page.goto(`${stack.baseUrl}/admin`);
    await page.locator('[data-testid=admin-users]').waitFor({ timeout: 30_000 });
    // The table frame renders before the user list arrives.
    await expect.poll(() => page.locator('[data-testid=admin-users]').textContent(), { timeout: 20_000 }).toContain('rita');
    await expect.poll(() => page.locator('[data-testid=policy-json]').inputValue(), { timeout: 20_000 }).toContain('minConfidence');
    const row = page.locator('[data-testid=rollout-head-ct-hyperdensity]');
    await row.waitFor({ timeout: 20_000 });
    await row.locator('button', { hasText: 'silent' }).click();
    await expect.poll(async () => (await ada.json<{ mode: string }>('/api/admin/models/head-ct-hyperdensity/rollout')).mode, { timeout: 20_000 }).toBe('silent');
    await page.close();
  });
});
