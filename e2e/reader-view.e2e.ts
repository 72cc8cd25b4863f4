/**
 * One reader view in the real app: real Chromium on the production build, the real gateway, a real
 * Orthanc, the real pre-read (head CT model in worker threads) and the real outbox, which stores the
 * model's unverified AI SR back into the study. So the study holds AI output twice: findings in the
 * gateway and an AI SR in the PACS. Whatever path draws marks, the policy must hold for it.
 *
 *  Another vendor's AI SR marking the same slice is stored into the PACS too (read by the server).
 *  - AI on (control): the marks of the top critical finding and of the vendor SR are drawn on their
 *    slice (coloured pixels in the viewport) and the worklist shows the critical flag;
 *  - AI disabled for the study, then the models set to silent: on the same slice no AI mark from any
 *    source is drawn (pixels, watched for 6 s) and the worklist shows no AI flag;
 *  - rejecting the only critical finding of a study in the viewer clears the worklist flag and the
 *    alert in a second tab live, without a reload; a sign-off shows the study final there, live.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { login, waitFor, type Client, type Stack } from '../test/harness.js';
import { buildHeadCtStudy, cStore, newUid, type BuiltStudy } from '../gateway/preread/study-builder.js';
import { parseDicomPart10, writeDicomPart10 } from '../src/core/sr/dicom.js';
import { buildMeasurementReport, studyFromDataset } from '../src/core/sr/writer.js';
import { sampleFindings } from '../src/core/sr/testing.js';
import { uploadFiles } from '../scripts/lib/orthanc.js';
import type { Finding } from '../src/core/findings/finding.js';

let stack: Stack;
let browser: LaunchedBrowser;
let worklist: Page;
let viewer: Page;
let rita: Client;
let ada: Client;
let lesion: BuiltStudy;
let single: BuiltStudy;
/** The slice of the lesion study's most confident critical pre-read finding; a vendor's AI SR marks it too. */
let sop = '';
let vendorSop = '';
const VENDOR = { name: 'vendor-ich', version: '2.0', manufacturer: 'Vendor Inc' };
const pageErrors: string[] = [];

type FState = { loading: boolean; findings: { id: string; status: string; source: string; regions: { image: { sopInstanceUID: string } }[] }[]; marks: { id: string; rect: { x: number; y: number; width: number; height: number } }[]; heatmapsDrawn: number };
type VState = { imageIndex: number; activeSopInstanceUID: string | null; firstImageShown: boolean };
const fstate = (p: Page) => p.evaluate(() => window.__findings?.getState() ?? null) as Promise<FState | null>;
const vstate = (p: Page) => p.evaluate(() => (window as unknown as { __viewer?: { getState(): unknown } }).__viewer?.getState() ?? null) as Promise<VState | null>;

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await fn();
  while (!v || !ok(v)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v, (k, x) => (k === 'regions' ? undefined : x)).slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 100));
    v = await fn();
  }
  return v;
}

/**
 * Pixels of the viewport (as composited on screen: image, overlay canvas, marks, heatmaps) that are
 * coloured. The CT is grey, the painted corner text is white: AI marks (amber), SR marks (violet)
 * and heatmaps are what is coloured here.
 */
async function colouredInViewport(p: Page): Promise<{ coloured: number; total: number }> {
  const box = (await p.getByTestId('viewport').boundingBox())!;
  const png = await p.screenshot({ clip: box, type: 'png' });
  return p.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) coloured++;
    return { coloured, total: d.length / 4 };
  }, png.toString('base64'));
}

/** Opens the study and scrolls (keyboard, as a reader would) to the given slice; the image is really on screen. */
async function openAt(study: string, sop: string): Promise<void> {
  await viewer.goto(`${stack.baseUrl}/viewer/${study}`);
  await until('first image', () => vstate(viewer), (v) => !!v?.firstImageShown, 60_000);
  await until('findings request answered', () => fstate(viewer), (s) => !!s && !s.loading);
  await viewer.getByTestId('viewport').click({ position: { x: 5, y: 5 } });
  for (let i = 0; i < 80; i++) {
    if ((await vstate(viewer))?.activeSopInstanceUID === sop) return;
    await viewer.keyboard.press('ArrowDown');
    await viewer.waitForTimeout(60);
  }
  throw new Error(`never reached ${sop}`);
}

const row = (uid: string) => worklist.locator(`.worklist-table tbody tr[data-study-uid="${uid}"]`);

async function topCritical(uid: string): Promise<Finding> {
  const { findings } = await rita.json<{ findings: Finding[] }>(`/api/studies/${uid}/findings`);
  const crit = findings.filter((f) => f.severity === 'critical' && f.source === 'preread' && f.regions.some((r) => r.box));
  crit.sort((a, b) => b.confidence - a.confidence);
  return crit[0];
}

/** After the policy change, nothing AI is drawn on the slice where the control showed the mark; the worklist has no flag. */
async function expectNothingDrawn(uid: string, sop: string, control: { coloured: number }) {
  await openAt(uid, sop);
  // Give every other path time to draw if it exists (the SR in the study, the in-browser model, which
  // starts once the stack is decoded, at most 4 s after the first image), watching all along: a mark
  // drawn for a moment and taken back is a mark drawn.
  const seen = { marks: 0, heatmaps: 0, coloured: 0 };
  for (const end = Date.now() + 6000; Date.now() < end; ) {
    const st = (await fstate(viewer))!;
    seen.marks = Math.max(seen.marks, st.marks.length);
    seen.heatmaps = Math.max(seen.heatmaps, st.heatmapsDrawn);
    seen.coloured = Math.max(seen.coloured, (await colouredInViewport(viewer)).coloured);
    await viewer.waitForTimeout(150);
  }
  expect({ marks: seen.marks, heatmaps: seen.heatmaps }).toEqual({ marks: 0, heatmaps: 0 });
  expect(seen.coloured, `most coloured viewport pixels seen with AI hidden (control with AI shown: ${control.coloured})`).toBeLessThan(5);
  const s = (await fstate(viewer))!;
  expect(s.findings.filter((f) => f.source !== 'radiologist').map((f) => `${f.source}:${f.id}`)).toEqual([]);
  expect(s.marks).toEqual([]);
  expect(s.heatmapsDrawn).toBe(0);
  expect((await vstate(viewer))!.activeSopInstanceUID).toBe(sop);
  const px = await colouredInViewport(viewer);
  expect(px.coloured, `coloured pixels with AI hidden (control with AI shown: ${control.coloured})`).toBeLessThan(5);
  // The worklist (open all along, no reload) drops the flag live.
  await expect.poll(() => row(uid).locator('.flag').count(), { timeout: 20_000 }).toBe(0);
  expect(await row(uid).count()).toBe(1);
}

beforeAll(async () => {
  process.env.PREREAD_POLL_MS = '200';
  process.env.PREREAD_TIMEOUT_MS = '120000';
  stack = await startE2EStack({ files: [] });
  rita = await login(stack.baseUrl, 'rita');
  ada = await login(stack.baseUrl, 'ada');
  lesion = await buildHeadCtStudy({ patientAge: '050Y', lesions: true });
  single = await buildHeadCtStudy({ patientAge: '061Y', slices: 4 });
  await cStore(lesion.files, { port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
  await cStore(single.files, { port: stack.orthanc.dicomPort, aet: stack.orthanc.aet });
  const state = async (uid: string) => {
    const r = await rita.fetch(`/api/studies/${uid}/preread`);
    return r.ok ? ((await r.json()) as { aiState: string; priority: string | null }) : null;
  };
  await waitFor('lesion study read, critical', async () => (await state(lesion.studyInstanceUID))?.priority === 'critical', 180_000);
  await waitFor('single study read', async () => ['done', 'failed'].includes((await state(single.studyInstanceUID))?.aiState ?? ''), 180_000);
  // The model's unverified AI SR is in the study (outbox → STOW-RS): a second source of marks.
  await waitFor('AI SR stored in the lesion study', async () => {
    const r = (await (await stack.orthanc.rest('/tools/find', { method: 'POST', body: JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: lesion.studyInstanceUID, Modality: 'SR' } }) })).json()) as string[];
    return r.length > 0;
  }, 60_000);
  // A third: another vendor's AI SR (TID 1500, written with the project's SR writer) marking the same
  // slice, stored straight into the PACS as a vendor's system would.
  sop = (await topCritical(lesion.studyInstanceUID)).regions.find((r) => r.box)!.image.sopInstanceUID;
  const src = lesion.files.map((f) => parseDicomPart10(fs.readFileSync(f))).find((d) => d.SOPInstanceUID === sop)!;
  vendorSop = newUid();
  const srPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rs-reader-view-')), 'vendor-sr.dcm');
  fs.writeFileSync(
    srPath,
    writeDicomPart10(
      buildMeasurementReport({ kind: 'ai', study: studyFromDataset(src), model: VENDOR, findings: sampleFindings(src, { model: VENDOR }), sopInstanceUID: vendorSop, seriesInstanceUID: newUid(), contentDateTime: new Date().toISOString() }),
    ),
  );
  await uploadFiles(stack.orthanc, [srPath]);
  fs.rmSync(path.dirname(srPath), { recursive: true, force: true });
  await waitFor('the vendor SR read by the server', async () => (await rita.json<{ findings: Finding[] }>(`/api/studies/${lesion.studyInstanceUID}/findings`)).findings.some((f) => f.id.startsWith(`sr:${vendorSop}:`)), 90_000);
  browser = await launchBrowser({ viewport: { width: 1400, height: 900 } });
  worklist = browser.page;
  viewer = await browser.newPage();
  for (const p of [worklist, viewer]) p.on('pageerror', (e) => pageErrors.push(e.message));
  await loginInBrowser(worklist, stack.baseUrl, 'rita');
  await worklist.goto(stack.baseUrl + '/');
  await worklist.waitForSelector('.worklist-table tbody tr').catch(async (e: Error) => {
    throw new Error(`${e.message}\npage errors: ${pageErrors.join(' | ')}\npage: ${(await worklist.locator('body').innerText()).slice(0, 800)}`);
  });
  // Marks the document: a reload would lose it.
  await worklist.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  lesion?.remove();
  single?.remove();
});

describe('one reader view: every source of AI marks and the worklist flag follow the policy', () => {
  let control = { coloured: 0 };

  it('AI on (control): the pre-read finding and the vendor SR finding are drawn on their slice; the worklist flags the study', async () => {
    const f = await topCritical(lesion.studyInstanceUID);
    await expect.poll(() => row(lesion.studyInstanceUID).locator('.flag-critical').count(), { timeout: 30_000 }).toBe(1);
    await openAt(lesion.studyInstanceUID, sop);
    await until('both marks drawn', () => fstate(viewer), (s) => !!s && s.marks.some((m) => m.id === f.id) && s.marks.some((m) => m.id === `sr:${vendorSop}:ICH-1`));
    control = await colouredInViewport(viewer);
    expect(control.coloured).toBeGreaterThan(50);
  });

  it('AI disabled for the study: no AI mark from any source on that slice (pixels), no flag on the worklist', async () => {
    expect((await rita.post(`/api/studies/${lesion.studyInstanceUID}/ai-disabled`, { reason: 'patient-declined' })).status).toBe(201);
    await expectNothingDrawn(lesion.studyInstanceUID, sop, control);
    expect((await rita.fetch(`/api/studies/${lesion.studyInstanceUID}/ai-disabled`, { method: 'DELETE' })).status).toBe(200);
    await expect.poll(() => row(lesion.studyInstanceUID).locator('.flag-critical').count(), { timeout: 30_000 }).toBe(1);
  });

  it('the models silent: no AI mark from any source on that slice (pixels), no flag on the worklist', async () => {
    // Silent is per model: both models with output on this slice (ours, read on arrival, and the vendor's, in its SR) go silent.
    const put = (model: string, mode: string) => ada.fetch(`/api/admin/models/${model}/rollout`, { method: 'PUT', body: JSON.stringify({ mode }), headers: { 'content-type': 'application/json' } });
    for (const m of ['head-ct-hyperdensity', VENDOR.name]) expect((await put(m, 'silent')).status).toBe(200);
    try {
      await expectNothingDrawn(lesion.studyInstanceUID, sop, control);
    } finally {
      for (const m of ['head-ct-hyperdensity', VENDOR.name]) expect((await put(m, 'assistive')).status).toBe(200);
    }
    await expect.poll(() => row(lesion.studyInstanceUID).locator('.flag-critical').count(), { timeout: 30_000 }).toBe(1);
    // The same slice with the model back: the mark is there again (the check above was not a blank screen).
    await openAt(lesion.studyInstanceUID, sop);
    await until('mark drawn again', () => fstate(viewer), (s) => !!s && s.marks.length > 0);
    expect((await colouredInViewport(viewer)).coloured).toBeGreaterThan(50);
  });

  it('rejecting the only critical finding in the viewer clears the flag and the alert in the other tab, live', async () => {
    const uid = single.studyInstanceUID;
    const ds = parseDicomPart10(fs.readFileSync(single.files[1])) as Record<string, unknown>;
    const id = `e2e-only-critical-${Date.now()}`;
    const imp = await ada.post('/api/findings', {
      id,
      studyInstanceUID: uid,
      type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' },
      label: 'Intracranial hemorrhage',
      confidence: 0.97,
      severity: 'critical',
      regions: [{ image: { seriesInstanceUID: String(ds.SeriesInstanceUID), sopInstanceUID: String(ds.SOPInstanceUID) }, box: { x: 200, y: 200, width: 60, height: 60 } }],
      model: { name: 'ich-import-demo', version: '1.0.0' },
    });
    expect(imp.status, await imp.clone().text()).toBe(201);
    // The worklist tab, open since the start, gets the flag and the alert live.
    await expect.poll(() => row(uid).locator('.flag-critical').count(), { timeout: 30_000 }).toBe(1);
    const alert = worklist.locator(`.critical-alert[data-study="${uid}"]`);
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.locator('.alert-reason').textContent()).toBe('ICH suspected, 97%');

    // The other tab: the radiologist opens the study and rejects the finding by keyboard.
    await viewer.goto(`${stack.baseUrl}/viewer/${uid}`);
    await until('finding listed', () => fstate(viewer), (s) => !!s && s.findings.some((f) => f.id === id), 60_000);
    await viewer.locator(`[data-testid=findings-panel] li[data-finding-id="${id}"]`).click({ position: { x: 10, y: 8 } });
    await viewer.keyboard.press('x');
    await until('rejected', () => fstate(viewer), (s) => !!s && s.findings.find((f) => f.id === id)?.status === 'rejected');

    await expect.poll(() => row(uid).locator('.flag').count(), { timeout: 20_000 }).toBe(0);
    await alert.waitFor({ state: 'detached', timeout: 20_000 });
    expect(await worklist.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    const closed = await stack.gateway.store.db.selectFrom('audit').select(['detail']).where('study_uid', '=', uid).where('action', '=', 'critical-alert-closed').execute();
    expect(closed.map((c) => JSON.parse(c.detail!).reason)).toEqual(['rejected']);
  });

  it('sign-off shows the study final on the open worklist, live', async () => {
    const uid = lesion.studyInstanceUID;
    await expect.poll(() => row(uid).locator('.flag-critical').count(), { timeout: 30_000 }).toBe(1);
    // One verdict, so the sign-off has a verified SR to store.
    const { findings } = await rita.json<{ findings: Finding[] }>(`/api/studies/${uid}/findings`);
    const toAccept = findings.find((f) => f.status === 'ai-unverified' && f.severity === 'critical');
    expect(toAccept, JSON.stringify(findings.map((f) => [f.id, f.source, f.status]))).toBeDefined();
    expect((await rita.post(`/api/findings/${toAccept!.id}/verdict`, { action: 'accept' })).status).toBe(200);
    const so = await rita.post(`/api/studies/${uid}/signoff`, { confirmUnverified: true, confirmAiPending: true });
    expect(so.status, await so.clone().text()).toBe(201);
    await expect.poll(() => row(uid).getByTestId('study-final').count(), { timeout: 20_000 }).toBe(1);
    expect(await row(uid).locator('.flag').count()).toBe(0);
    expect(await row(uid).getByTestId('study-final').getAttribute('title')).toMatch(/^Signed off by rita · SR \w+ · ORU \w+/);
    // The verified SR reaches the PACS through the outbox after the sign-off; the row follows without a reload.
    await expect.poll(() => row(uid).getByTestId('study-final').getAttribute('data-sr'), { timeout: 30_000 }).toBe('acknowledged');
    expect(await row(uid).getByTestId('study-final').getAttribute('title')).toContain('SR stored');
    await worklist.locator(`.critical-alert[data-study="${uid}"]`).waitFor({ state: 'detached', timeout: 20_000 });
    expect(await worklist.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  });

  it('no uncaught exception reached either page', () => {
    expect(pageErrors).toEqual([]);
  });
});
