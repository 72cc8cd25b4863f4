/**
 * Zero-click pre-read in the real app: real Chromium on the production build, real gateway, real
 * Orthanc. The worklist is open; a new head CT arrives by C-STORE (built from the shared GE head CT
 * with new UIDs and the head CT model's held-out synthetic hyperdensities painted in); without a
 * reload it moves to the top with a critical flag; the ER attending gets the alert and opens the
 * study from it in one click; the technologist gets no alert.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import type { Stack } from '../test/harness.js';
import { CHEST_CR, mrSeriesFiles } from '../scripts/lib/demo-data.js';
import { buildHeadCtStudy, cStore, type BuiltStudy } from '../gateway/preread/study-builder.js';

let stack: Stack;
let erinBrowser: LaunchedBrowser;
let tobyBrowser: LaunchedBrowser;
let erin: Page;
let toby: Page;
let study: BuiltStudy;

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '200';
  process.env.PREREAD_TIMEOUT_MS = '120000';
  // Studies already on the list: an MR series (no model indicated) and a chest CR (chest model; a nodule is routine at most).
  stack = await startE2EStack({ files: [...mrSeriesFiles(), CHEST_CR] });
  study = await buildHeadCtStudy({ patientAge: '045Y', lesions: true });
  erinBrowser = await launchBrowser();
  tobyBrowser = await launchBrowser();
  erin = erinBrowser.page;
  toby = tobyBrowser.page;
  await loginInBrowser(erin, stack.baseUrl, 'erin');
  await loginInBrowser(toby, stack.baseUrl, 'toby');
});

afterAll(async () => {
  await erinBrowser?.close();
  await tobyBrowser?.close();
  study?.remove();
  await stack?.stop();
});

describe('pre-read e2e', () => {
  it('a study arrives → the open worklist puts it on top with a critical flag; the ER attending is alerted, the technologist is not', async () => {
    for (const p of [erin, toby]) {
      await p.goto(stack.baseUrl + '/');
      await p.waitForSelector('.worklist-table tbody tr');
    }
    // Let the demo study's own pre-read settle so the list is quiet before the arrival.
    const rowsBefore = await erin.locator('.worklist-table tbody tr').count();
    const urlBefore = erin.url();
    // The ER attending has picked a study (the second row) when the arrival re-sorts the list.
    await erin.locator('.worklist-table tbody tr').first().focus();
    await erin.keyboard.press('ArrowDown');
    const picked = await erin.locator('.worklist-table tbody tr').nth(1).getAttribute('data-study-uid');
    expect(await erin.getAttribute('tr.selected', 'data-study-uid')).toBe(picked);

    await cStore(study.files, { port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });

    const top = erin.locator('.worklist-table tbody tr').first();
    const rows = () => erin.$$eval('.worklist-table tbody tr', (trs) => trs.map((tr) => `${tr.getAttribute('data-study-uid')} ${tr.className}`).join('\n'));
    try {
      await expect.poll(() => top.getAttribute('data-study-uid'), { timeout: 120_000, interval: 250 }).toBe(study.studyInstanceUID);
    } catch (e) {
      console.error(`worklist rows:\n${await rows()}\ntriage: ${JSON.stringify(await stack.gateway.store.db.selectFrom('preread_studies').select(['study_uid', 'priority', 'reason']).execute())}`);
      throw e;
    }
    await expect.poll(() => top.locator('.flag-critical').count(), { timeout: 120_000, interval: 250 }).toBe(1);
    expect(await top.locator('.flag-critical').getAttribute('title')).toMatch(/^ICH suspected, \d+%$/);
    expect(erin.url()).toBe(urlBefore); // no reload, no navigation
    // The highlight stayed on the study the reader picked, though its row moved: Enter opens that study, not another patient.
    expect(await erin.getAttribute('tr.selected', 'data-study-uid')).toBe(picked);
    expect(await erin.locator('.worklist-table tbody tr').count()).toBe(rowsBefore + 1);

    // The alert names the study and the finding.
    const alert = erin.locator(`.critical-alert[data-study="${study.studyInstanceUID}"]`);
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.locator('.alert-reason').textContent()).toMatch(/^ICH suspected, \d+%$/);
    expect(await alert.textContent()).toContain(study.studyInstanceUID);
    // It sits in the header between the links and the reader's name, covering neither, with its buttons in view.
    const boxOf = async (sel: string) => (await erin.locator(sel).first().boundingBox())!;
    const [a, userBox, nav, header] = [await alert.boundingBox(), await boxOf('[data-testid=current-user]'), await boxOf('.app-header nav'), await boxOf('.app-header')];
    expect(a!.x + a!.width).toBeLessThanOrEqual(userBox.x + 0.5);
    expect(a!.x).toBeGreaterThanOrEqual(nav.x + nav.width - 0.5);
    expect(a!.y).toBeGreaterThanOrEqual(header.y - 0.5);
    expect(a!.y + a!.height).toBeLessThanOrEqual(header.y + header.height + 0.5);
    for (const name of ['Open', 'Acknowledge']) {
      const b = (await alert.locator('button', { hasText: name }).boundingBox())!;
      expect(b.x + b.width).toBeLessThanOrEqual(a!.x + a!.width + 0.5);
    }

    // The technologist's list shows the study but no flag and no alert.
    const tobyRow = toby.locator(`.worklist-table tbody tr[data-study-uid="${study.studyInstanceUID}"]`);
    await tobyRow.waitFor({ timeout: 60_000 });
    expect(await toby.locator('.critical-alert').count()).toBe(0);
    expect(await tobyRow.locator('.flag').count()).toBe(0);

    // One click opens the study; acknowledging removes the alert and is audited.
    await alert.locator('button', { hasText: 'Open' }).click();
    await erin.waitForURL((u) => u.pathname === `/viewer/${study.studyInstanceUID}`);
    await alert.locator('button', { hasText: 'Acknowledge' }).click();
    await alert.waitFor({ state: 'detached', timeout: 10_000 });
    const acks = await stack.gateway.store.db.selectFrom('audit').selectAll().where('action', '=', 'critical-alert-acknowledged').where('study_uid', '=', study.studyInstanceUID).execute();
    expect(acks.map((a) => a.actor)).toEqual(['erin']);
    expect(await toby.locator('.critical-alert').count()).toBe(0);
  });
});
