/**
 * The worklist says why without hovering: at 1280×800, a head CT with the model's synthetic bleeds shows
 * its flag as a word and a shape ("▲ Critical") with the reason on the row ("ICH suspected, 9x%"), its
 * status as a word, description, accession, age/sex and modality · body part from QIDO; a legend; the
 * filters; `?` help. Fails when the reason is only a tooltip, the description is dropped by QIDO, or the
 * table needs horizontal scrolling at 1280 px.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import type { Stack } from '../test/harness.js';
import { CHEST_CR, mrSeriesFiles } from '../scripts/lib/demo-data.js';
import { buildHeadCtStudy, type BuiltStudy } from '../gateway/preread/study-builder.js';
import { DATE_PATTERN, DATE_TIME_PATTERN } from '../src/core/format/dates.js';

let stack: Stack;
let browser: LaunchedBrowser;
let page: Page;
let lesion: BuiltStudy;
const pageErrors: string[] = [];

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '200';
  lesion = await buildHeadCtStudy({ patientAge: '045Y', lesions: true, accessionNumber: 'ACC-WL-1' });
  stack = await startE2EStack({ files: [...lesion.files, ...mrSeriesFiles(), CHEST_CR] });
  browser = await launchBrowser({ viewport: { width: 1280, height: 800 } });
  page = browser.page;
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await loginInBrowser(page, stack.baseUrl, 'rita');
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  lesion?.remove();
});

const row = (uid: string) => page.locator(`.worklist-table tbody tr[data-study-uid="${uid}"]`);

describe('worklist: the reason and the status on the row', () => {
  it('shows flag word + shape, reason, status, description, accession, age and body part without hovering, at 1280×800', async () => {
    await page.goto(stack.baseUrl + '/');
    await page.waitForSelector('.worklist-table tbody tr').catch(async (e: Error) => {
      throw new Error(`${e.message}\npage errors: ${pageErrors.join(' | ')}\n${(await page.locator('body').innerText()).slice(0, 800)}`);
    });
    const r = row(lesion.studyInstanceUID);
    await expect.poll(() => r.locator('[data-testid=row-reason]').count(), { timeout: 180_000, interval: 250 }).toBe(1);
    // Visible text, not a title: what a reader sees without hovering.
    expect(await r.getByTestId('row-reason').isVisible()).toBe(true);
    expect(await r.getByTestId('row-reason').innerText()).toMatch(/^ICH suspected, \d+ ?%$/);
    const flag = r.locator('.wl-flag');
    expect(await flag.isVisible()).toBe(true);
    expect((await flag.innerText()).replace(/\s+/g, ' ').trim()).toBe('▲ Critical');
    expect(await r.getByTestId('row-status').isVisible()).toBe(true);
    expect(await r.getByTestId('row-status').innerText()).toMatch(/^(Unread|AI pending|In progress)$/);
    const cells = (await r.locator('td').allInnerTexts()).map((c) => c.replace(/\s+/g, ' ').trim());
    // Description (empty before: QIDO's includefield was sent as %2C), accession, age; modality · body part.
    expect(cells[5]).toBe('HEAD');
    expect(cells[4]).toMatch(/^CT(, SR)? · HEAD$/);
    expect(cells[3]).toBe('ACC-WL-1');
    expect(cells[2]).toMatch(/^45 y/);
    // Critical first.
    expect(await page.locator('.worklist-table tbody tr').first().getAttribute('data-study-uid')).toBe(lesion.studyInstanceUID);
    // The MR study: description, age (from AS) and sex from QIDO, one date format.
    const mrText = (await page.locator('.worklist-table tbody tr', { hasText: 'INVESTIGATORS' }).first().innerText()).replace(/\s+/g, ' ');
    expect(mrText).toContain('29 y M');
    expect(mrText).toContain('2012-02-15');
    // A legend: every level as word and shape.
    const legend = await page.getByLabel('Legend').innerText();
    for (const w of ['▲ Critical', '◆ Urgent', '● Routine', 'Final']) expect(legend.replace(/\s+/g, ' ')).toContain(w);
    // Usable at 1280×800: no horizontal scrolling.
    const overflow = await page.evaluate(() => {
      const el = document.querySelector('.worklist') as HTMLElement;
      return { scroll: el.scrollWidth, client: el.clientWidth, doc: document.documentElement.scrollWidth };
    });
    expect(overflow.scroll).toBeLessThanOrEqual(overflow.client);
    expect(overflow.doc).toBeLessThanOrEqual(1280);
  }, 240_000);

  it('filters by priority, modality and status; ? shows help and Esc closes it', async () => {
    await page.selectOption('select[aria-label="Priority filter"]', 'critical');
    await expect.poll(() => page.locator('.worklist-table tbody tr').count()).toBe(1);
    await page.selectOption('select[aria-label="Priority filter"]', '');
    await page.selectOption('select[aria-label="Modality filter"]', 'MR');
    await expect.poll(() => page.locator('.worklist-table tbody tr').count()).toBe(1);
    expect(await page.locator('.worklist-table tbody tr').first().innerText()).toContain('MR');
    await page.selectOption('select[aria-label="Modality filter"]', '');
    await page.selectOption('select[aria-label="Status filter"]', 'final');
    await expect.poll(() => page.locator('.worklist-table tbody tr').count()).toBe(0);
    await page.selectOption('select[aria-label="Status filter"]', '');
    await page.locator('.worklist-table tbody tr').first().focus();
    await page.keyboard.press('?');
    expect(await page.getByRole('dialog', { name: 'Worklist help' }).isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog', { name: 'Worklist help' }).count()).toBe(0);
  }, 60_000);

  it('the body part stays once the AI result SR is in the study (it came from the study level, which the SR empties)', async () => {
    const modality = () => row(lesion.studyInstanceUID).locator('td').nth(4).innerText().then((t) => t.replace(/\s+/g, ' ').trim());
    await expect
      .poll(async () => {
        if (!(await modality()).includes('SR')) await page.getByRole('button', { name: 'Refresh' }).click();
        return modality();
      }, { timeout: 90_000, interval: 1000 })
      .toMatch(/SR/);
    expect(await modality()).toBe('CT, SR · HEAD');
  }, 120_000);

  it('the alert history lists the critical alert with its reason and state', async () => {
    await page.locator('.wl-alert-history summary').click();
    const entry = page.locator(`.wl-alert-history tr[data-study-uid="${lesion.studyInstanceUID}"]`).first();
    await entry.waitFor({ timeout: 30_000 });
    expect(await entry.getAttribute('data-state')).toBe('open');
    expect(await entry.innerText()).toMatch(/ICH suspected, \d+ ?%/);
    expect(await entry.innerText()).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
  }, 60_000);

  it('one date format: every date on the worklist (rows, alert history) is YYYY-MM-DD, with HH:mm for an instant', async () => {
    // Identifiers are not dates (the MR's Patient ID is "12.02.15-15:49:23-STD-..."): left out of the scan.
    let text = await page.locator('.worklist').innerText();
    for (const id of await page.locator('.worklist-table tbody tr td:nth-child(2) .wl-small').allInnerTexts()) if (id.trim()) text = text.split(id.trim()).join(' ');
    // Anything that looks like a date or a time of day, in any common spelling.
    const dates = text.match(/\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b/g) ?? [];
    expect(dates.length).toBeGreaterThanOrEqual(2);
    for (const d of dates) expect(d, text).toMatch(DATE_PATTERN);
    const times = text.match(/\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?\b|\b\d{1,2}:\d{2}(:\d{2})?\s?([AP]M)?/gi) ?? [];
    expect(times.length).toBeGreaterThan(0);
    for (const t of times) expect(t, text).toMatch(DATE_TIME_PATTERN);
    expect(text).not.toMatch(/\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d/);
    // The study date column and the alert history's time column, cell by cell.
    for (const c of await page.locator('.worklist-table tbody tr td:nth-child(7)').allInnerTexts()) if (c.trim()) expect(c.trim()).toMatch(DATE_PATTERN);
    const alertTimes = await page.locator('.wl-alert-history tbody tr td').allInnerTexts();
    expect(alertTimes.some((c) => DATE_TIME_PATTERN.test(c.trim()))).toBe(true);
  }, 30_000);

  it('in progress for everyone: rita opens the MR study; a second user\'s worklist (another browser) shows it In progress', async () => {
    const mr = page.locator('.worklist-table tbody tr', { hasText: 'INVESTIGATORS' }).first();
    const uid = (await mr.getAttribute('data-study-uid'))!;
    expect(await mr.getByTestId('row-status').getAttribute('data-status')).not.toBe('in-progress');
    // A second reader, in a browser of their own (no shared storage): not in progress yet.
    const other = await launchBrowser({ viewport: { width: 1280, height: 800 } });
    try {
      await loginInBrowser(other.page, stack.baseUrl, 'remy');
      await other.page.goto(stack.baseUrl + '/');
      const theirs = other.page.locator(`.worklist-table tbody tr[data-study-uid="${uid}"]`);
      await theirs.waitFor({ timeout: 30_000 });
      expect(await theirs.getByTestId('row-status').getAttribute('data-status')).not.toBe('in-progress');
      // Rita opens the study (the viewer fetches its findings: the server records the open).
      await page.goto(`${stack.baseUrl}/viewer/${uid}`);
      await page.waitForFunction((study) => {
        const s = (window as unknown as { __findings?: { getState(): { loading: boolean; studyUID: string | null } } }).__findings?.getState();
        return !!s && !s.loading && s.studyUID === study;
      }, uid, { timeout: 60_000 });
      // Remy's worklist, reloaded: In progress, from the server's record.
      await other.page.reload();
      await theirs.waitFor({ timeout: 30_000 });
      await expect.poll(() => theirs.getByTestId('row-status').innerText(), { timeout: 30_000 }).toBe('In progress');
      // And rita's own, back on the worklist.
      await page.goto(stack.baseUrl + '/');
      await expect.poll(() => row(uid).getByTestId('row-status').innerText(), { timeout: 30_000 }).toBe('In progress');
    } finally {
      await other.close();
    }
  }, 180_000);
});
