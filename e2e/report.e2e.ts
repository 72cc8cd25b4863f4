/**
 * The report from the keyboard, in real Chromium on the production build: a head CT with the model's synthetic
 * bleeds is pre-read; in the viewer the radiologist accepts the critical finding ('a') and the report panel
 * drafts its sentence, marked AI-suggested; 'e' goes to it, Ctrl+Enter accepts it (and the AI-worded
 * impression); free text in the comments; S signs off (Enter confirms the findings left unverified). The
 * verified SR in the PACS carries the report text; the open worklist shows the study Final, without its flag,
 * and the critical alert is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import fs from 'node:fs';
import { login, type Stack } from '../test/harness.js';
import { parseDicomPart10 } from '../src/core/sr/dicom.js';
import { buildHeadCtStudy, type BuiltStudy } from '../gateway/preread/study-builder.js';
import { DATE_PATTERN } from '../src/core/format/dates.js';

let stack: Stack;
let browser: LaunchedBrowser;
let worklist: Page;
let viewer: Page;
let lesion: BuiltStudy;
const pageErrors: string[] = [];

type FState = { loading: boolean; findings: { id: string; status: string; severity: string }[] };
const fstate = (p: Page) => p.evaluate(() => (window as unknown as { __findings?: { getState(): unknown } }).__findings?.getState() ?? null) as Promise<FState | null>;
const vstate = (p: Page) => p.evaluate(() => (window as unknown as { __viewer?: { getState(): unknown } }).__viewer?.getState() ?? null) as Promise<{ firstImageShown: boolean } | null>;

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await fn();
  while (!v || !ok(v)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 100));
    v = await fn();
  }
  return v;
}

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '200';
  lesion = await buildHeadCtStudy({ patientAge: '045Y', lesions: true, accessionNumber: 'ACC-REP-1' });
  stack = await startE2EStack({ files: lesion.files });
  browser = await launchBrowser({ viewport: { width: 1400, height: 900 } });
  worklist = browser.page;
  viewer = await browser.newPage();
  for (const p of [worklist, viewer]) p.on('pageerror', (e) => (pageErrors.push(e.message), console.error('pageerror', p === viewer ? 'viewer' : 'worklist', e.stack)));
  await loginInBrowser(worklist, stack.baseUrl, 'rita');
  await worklist.goto(stack.baseUrl + '/');
  await worklist.waitForSelector('.worklist-table tbody tr');
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  lesion?.remove();
});

const row = (uid: string) => worklist.locator(`.worklist-table tbody tr[data-study-uid="${uid}"]`);

describe('report panel: draft from an accepted finding, keyboard accept, sign-off with the report', () => {
  it('accepting the critical finding drafts its sentence marked AI-suggested; e + Ctrl+Enter accept; S signs; worklist final, alert gone', async () => {
    const uid = lesion.studyInstanceUID;
    await expect.poll(() => row(uid).locator('.flag-critical').count(), { timeout: 180_000, interval: 250 }).toBe(1);
    await worklist.locator(`.critical-alert[data-study="${uid}"]`).waitFor({ timeout: 30_000 });

    // A length the radiologist measured (gateway/measurements): it goes into the draft's measurement table.
    const ds = parseDicomPart10(fs.readFileSync(lesion.files[0]));
    const api = await login(stack.baseUrl, 'rita');
    const put = await api.fetch(`/api/studies/${uid}/measurements/len-1`, {
      method: 'PUT', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tool: 'length', seriesInstanceUID: String(ds.SeriesInstanceUID), sopInstanceUID: String(ds.SOPInstanceUID), frameNumber: 1, points: [[0, 0, 0], [23.4, 0, 0]], stats: { length: 23.4, unit: 'mm' } }),
    });
    expect(put.status, await put.clone().text()).toBeLessThan(300);
    await viewer.goto(`${stack.baseUrl}/viewer/${uid}`);
    await until('first image', () => vstate(viewer), (v) => !!v?.firstImageShown, 60_000);
    const fs0 = await until('findings', () => fstate(viewer), (s) => !!s && !s.loading && s.findings.length > 0);
    const panel = viewer.getByTestId('report-panel');
    await panel.waitFor();
    // Nothing accepted yet: the template's normal text, nothing AI-suggested.
    await expect.poll(() => panel.locator('[data-testid=report-line]').count()).toBeGreaterThan(0);
    expect(await panel.locator('[data-ai-suggested=true]').count()).toBe(0);

    // The panel lists critical first: its top row is the finding that flagged the study.
    expect(fs0!.findings.length).toBeGreaterThan(0);
    const top = viewer.locator('[data-testid=findings-panel] li[data-finding-id]').first();
    const critical = { id: (await top.getAttribute('data-finding-id'))! };
    expect(await top.getByTestId('finding-severity').innerText()).toContain('Critical');
    await top.click({ position: { x: 10, y: 8 } });
    await viewer.keyboard.press('a');
    // The draft follows the verdict: the finding's sentence, worded by the template, marked AI-suggested.
    const line = panel.locator(`[data-testid=report-line][data-line-id="f:${critical.id}"]`);
    await line.waitFor({ timeout: 15_000 });
    expect(await line.getAttribute('data-ai-suggested')).toBe('true');
    const rs = await viewer.evaluate(() => window.__report?.getState());
    expect(await panel.getByLabel('Report template').inputValue(), JSON.stringify(rs?.study)).toBe('head-ct-haemorrhage');
    expect(await line.locator('textarea').inputValue()).toMatch(/acute intracranial haemorrhage/);
    expect(await line.innerText()).toContain('AI-suggested');
    expect(await panel.getByTestId('report-pending').isVisible()).toBe(true);
    await expect.poll(() => panel.getByTestId('report-measurements').innerText().catch(() => ''), { timeout: 15_000 }).toMatch(/Length 1\s+Length\s+23\.4 mm\s+Radiologist/);

    // Keyboard: e goes to the first AI-suggested line, Ctrl+Enter accepts it; again for the impression.
    await viewer.locator('body').click({ position: { x: 2, y: 2 } }).catch(() => {});
    await viewer.keyboard.press('Escape');
    await viewer.keyboard.press('e');
    expect(await viewer.evaluate(() => document.activeElement?.getAttribute('data-report-line'))).toBe(`f:${critical.id}`);
    await viewer.keyboard.press('Control+Enter');
    await expect.poll(() => line.getAttribute('data-ai-suggested')).toBe('false');
    await viewer.keyboard.press('Escape');
    await viewer.keyboard.press('e');
    const lines = JSON.stringify((await viewer.evaluate(() => window.__report?.getState().draft))?.findings.map((l) => [l.id, l.origin, l.accepted]));
    expect(await viewer.evaluate(() => document.activeElement?.getAttribute('data-report-line')), `${critical.id} ${lines}`).toBe('impression');
    await viewer.keyboard.press('Control+Enter');
    await expect.poll(() => panel.locator('[data-ai-suggested=true]').count()).toBe(0);
    // Free text.
    await panel.getByLabel('Comments (free text)').focus();
    await viewer.keyboard.type('No prior for comparison.');
    await viewer.keyboard.press('Escape');
    await expect.poll(() => panel.getByTestId('report-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('saved');

    // The AI is still reading (a pre-read job queued for the study's images, held back so the test decides when):
    // S is answered by one dialog naming it (and the unverified findings); Esc keeps the study unsigned.
    const db = stack.gateway.store.db;
    const st = await db.selectFrom('preread_studies').select('fingerprint').where('study_uid', '=', uid).executeTakeFirstOrThrow();
    const later = new Date(Date.now() + 3600_000).toISOString();
    await db.insertInto('preread_jobs').values({ id: 'e2e-pending-job', study_uid: uid, model: 'ich-detector', model_version: '9.9.9', fingerprint: st.fingerprint, payload: '{}', state: 'pending', attempts: 0, next_at: later, created_at: new Date().toISOString() }).execute();
    await viewer.keyboard.press('S');
    const confirm = viewer.getByTestId('findings-signoff-confirm');
    await confirm.waitFor({ timeout: 10_000 });
    expect(await confirm.getAttribute('aria-label')).toBe('Confirm sign-off while the AI is still reading');
    expect(await confirm.getByTestId('signoff-ai-pending').innerText()).toMatch(/ich-detector pre-read, queued/);
    // Keyboard-operable: the confirm button has the focus; Esc cancels and nothing is signed.
    expect(await viewer.evaluate(() => document.activeElement?.getAttribute('data-action'))).toBe('signoff-confirm');
    await viewer.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached', timeout: 5_000 });
    expect(await panel.getByTestId('report-state').getAttribute('data-state')).not.toBe('final');
    // Sign off from the keyboard: S, then Enter confirms (the AI still reading, and the findings left unverified).
    await viewer.keyboard.press('S');
    await confirm.waitFor({ timeout: 10_000 });
    await viewer.keyboard.press('Enter');
    await expect.poll(() => panel.getByTestId('report-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('final');
    const signedAudit = await db.selectFrom('audit').select('detail').where('action', '=', 'study-signed-off').where('study_uid', '=', uid).executeTakeFirstOrThrow();
    // Audited with what was pending (the browser's own run too, when it had not finished: only the viewer knows it).
    expect(JSON.parse(signedAudit.detail ?? '{}').signedWhileAiPending).toContainEqual(expect.objectContaining({ model: 'ich-detector', source: 'pre-read', state: 'pending' }));
    // Dates on the report and findings panels in the one format.
    await expect.poll(() => panel.getByTestId('report-state').innerText(), { timeout: 20_000 }).toMatch(/signed \d{4}-\d{2}-\d{2} \d{2}:\d{2}(?!:)/);
    await expect.poll(() => viewer.getByTestId('findings-signed').innerText().catch(() => ''), { timeout: 20_000 }).toMatch(/at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:/);
    for (const root of [panel, viewer.getByTestId('findings-panel')]) {
      // Model versions ("head-ct-hyperdensity 2.0.0") are not dates: left out of the scan.
      const text = (await root.innerText()).replace(/[a-z][\w-]*\s+\d+\.\d+\.\d+/gi, ' ');
      for (const d of text.match(/\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b/g) ?? []) expect(d, text).toMatch(DATE_PATTERN);
      expect(text).not.toMatch(/\b\d{1,2}:\d{2}:\d{2}\b|\b[AP]M\b/);
    }
    expect(await panel.locator('textarea[data-report-line]').first().getAttribute('readonly')).not.toBeNull();

    // The verified SR in the PACS carries the report text.
    const sr = await until('verified SR with the report', async () => {
      const ids = (await (await stack.orthanc.rest('/tools/find', { method: 'POST', body: JSON.stringify({ Level: 'Instance', Query: { StudyInstanceUID: uid, Modality: 'SR' } }) })).json()) as string[];
      for (const id of ids) {
        const bytes = Buffer.from(await (await stack.orthanc.rest(`/instances/${id}/file`)).arrayBuffer()).toString('latin1');
        if (bytes.includes('VERIFIED') && bytes.includes('No prior for comparison.')) return bytes;
      }
      return null;
    }, (b) => !!b, 60_000);
    expect(sr).toMatch(/acute intracranial haemorrhage/);
    expect(sr).toContain('Measurement: Length 1: Length 23.4 mm.');

    // The open worklist: Final, no flag, the alert closed.
    await expect.poll(() => row(uid).getByTestId('row-status').getAttribute('data-status'), { timeout: 20_000 }).toBe('final');
    expect(await row(uid).getByTestId('row-status').innerText()).toBe('Final');
    expect(await row(uid).locator('.flag').count()).toBe(0);
    await worklist.locator(`.critical-alert[data-study="${uid}"]`).waitFor({ state: 'detached', timeout: 20_000 });
  }, 400_000);

  it('no uncaught exception reached either page', () => {
    expect(pageErrors).toEqual([]);
  });
});
