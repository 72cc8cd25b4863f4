/**
 * The governance page in the real app (production build, real gateway, real Orthanc): the governance
 * user lands on it, its tables show exactly the figures of a seeded history (worked out by hand here and
 * the gateway's own answer), the trend chart really draws the model's line (its colour's pixels on the
 * canvas, in the part of the canvas where the points are), the distribution chart draws bars, the CSV
 * export downloads with the same numbers, and nothing breaks the CSP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleMessage, Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { login, type Stack, type Client } from '../test/harness.js';
import { headCtFiles } from '../scripts/lib/demo-data.js';
import { upsertFinding } from '../gateway/findings/repository.js';
import { FindingSchema } from '../src/core/findings/finding.js';
import type { Figures } from '../src/core/governance/figures.js';
import { PALETTE, groupKey, trend, driftGroup as driftKey } from '../src/governance/chartData.js';
import type { DriftRow } from '../src/core/governance/drift.js';
import fs from 'node:fs';

const CT = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const MODEL = { name: 'gov-e2e', version: '1.0' };
let stack: Stack;
let browser: LaunchedBrowser;
let rita: Client;
let gus: Client;
const csp: string[] = [];
const pageErrors: string[] = [];

function finding(id: string, over: Record<string, unknown> = {}) {
  return {
    id,
    studyInstanceUID: CT,
    type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' },
    label: 'Intracranial hemorrhage',
    confidence: 0.9,
    severity: 'routine',
    regions: [{ image: { seriesInstanceUID: '1.2.3.4', sopInstanceUID: '1.2.3.4.5' }, box: { x: 10, y: 10, width: 20, height: 20 } }],
    model: MODEL,
    ...over,
  };
}

beforeAll(async () => {
  stack = await startE2EStack({ files: headCtFiles().slice(0, 3) });
  browser = await launchBrowser({ viewport: { width: 1400, height: 1000 } });
  rita = await login(stack.baseUrl, 'rita');
  gus = await login(stack.baseUrl, 'gus');
  // Two weeks ago: 3 pre-read findings, two rejected as false positives, one accepted (written as the lifecycle leaves them).
  const past = new Date(Date.now() - 14 * 86_400_000).toISOString();
  const verdict = (reason?: string) => ({ by: 'rita', role: 'radiologist', at: past, ...(reason ? { reason } : {}) });
  for (const [id, status, reason] of [['gov-e2e-old-1', 'rejected', 'false-positive'], ['gov-e2e-old-2', 'rejected', 'false-positive'], ['gov-e2e-old-3', 'accepted', undefined]] as const) {
    await upsertFinding(stack.gateway.store.db, FindingSchema.parse({ ...finding(id), source: 'preread', status, verdict: verdict(reason), createdAt: past, ingestedBy: 'preread' }));
  }
  // This week, through the API: 4 imported, opened by the radiologist, one accepted, one false positive, one artefact.
  expect((await rita.post('/api/findings', [1, 2, 3, 4].map((i) => finding(`gov-e2e-new-${i}`)))).status).toBe(201);
  expect((await rita.json<{ findings: unknown[] }>(`/api/studies/${CT}/findings`)).findings.length).toBeGreaterThanOrEqual(7);
  for (const [id, body] of [['gov-e2e-new-1', { action: 'accept' }], ['gov-e2e-new-2', { action: 'reject', reason: 'false-positive' }], ['gov-e2e-new-3', { action: 'reject', reason: 'artefact' }]] as const) {
    expect((await rita.post(`/api/findings/${id}/verdict`, body)).status).toBe(200);
  }
  // Signed: the final read (haemorrhage confirmed) is what the evaluation compares with.
  const signed = await rita.post(`/api/studies/${CT}/signoff`, { confirmUnverified: true, confirmAiPending: true });
  expect(signed.status, await signed.clone().text()).toBe(201);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const isCsp = (m: ConsoleMessage) => /Content Security Policy|Refused to (load|execute|create|compile|evaluate|apply)/i.test(m.text());

/** Pixels of the plot area (legend and axes left out) within `tol` of the colour, and where they lie (x as fractions of the plot's width). */
async function colourPixels(page: Page, testId: string, hex: string, tol = 40): Promise<{ count: number; minX: number; maxX: number; painted: number }> {
  return page.evaluate(
    ({ testId, hex, tol }) => {
      const c = document.querySelector(`[data-testid=${testId}]`) as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      const [left, top, right, bottom] = (c.dataset.area ?? '').split(',').map(Number);
      let count = 0;
      let painted = 0;
      let minX = Infinity;
      let maxX = -Infinity;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] > 0) painted++;
        const x = (i / 4) % c.width;
        const y = Math.floor(i / 4 / c.width);
        if (x < left || x > right || y < top || y > bottom) continue;
        if (d[i + 3] > 200 && Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) < tol) {
          count++;
          minX = Math.min(minX, x);
          maxX = Math.max(maxX, x);
        }
      }
      return { count, minX: (minX - left) / (right - left), maxX: (maxX - left) / (right - left), painted };
    },
    { testId, hex, tol },
  );
}

describe('governance page', () => {
  it('the governance user lands on it; its figures match the seeded history and the gateway; the charts draw', async () => {
    const page = await browser.newPage();
    page.on('console', (m) => isCsp(m) && csp.push(m.text()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await loginInBrowser(page, stack.baseUrl, 'gus');
    await page.waitForURL((u) => u.pathname === '/governance', { timeout: 30_000 });
    expect(await page.locator('header nav a', { hasText: 'Worklist' }).count()).toBe(0);

    const api = await gus.json<Figures>('/api/governance/figures');
    const mine = api.summary.filter((r) => r.model === 'gov-e2e');
    expect(mine.length).toBe(1);
    const s = mine[0];
    // By hand: 7 produced, all shown (opened this week); 2 accepted, 4 rejected (3 false positives, 1 artefact), 1 unverified.
    expect(s).toMatchObject({ produced: 7, shown: 7, verdicts: 6 });
    expect(s.byVerdict).toEqual({ unverified: 1, accepted: 2, modified: 0, rejected: 4 });
    expect(s.rejectedBy['false-positive']).toBe(3);
    // Utilisation from the server's study-opened record (rita's GET of the study's findings), not a viewer event.
    expect(s).toMatchObject({ studiesWithResults: 1, studiesOpened: 1, utilisation: 1 });

    const row = page.locator(`[data-testid=governance-summary] tr[data-group="${groupKey(s)}"]`);
    await row.waitFor({ timeout: 30_000 });
    const cell = async (f: string) => (await row.locator(`td[data-field="${f}"]`).textContent())?.trim();
    expect(await cell('produced')).toBe('7');
    expect(await cell('shown')).toBe('7');
    expect(await cell('superseded')).toBe('0');
    expect(await cell('accepted')).toBe('2');
    expect(await cell('rejected')).toBe('4');
    expect(await cell('unverified')).toBe('1');
    expect(await cell('agreementRate')).toBe('33.3%');
    expect(await cell('falsePositiveRate')).toBe('42.9% (3/7)');
    expect(await cell('otherRejections')).toBe('artefact 1');

    // Two weeks: 2/3 then 1/4 false positives.
    const weekly = page.locator(`[data-testid=governance-weekly] tr[data-group="${groupKey(s)}"]`);
    expect(await weekly.count()).toBe(2);
    expect((await weekly.nth(0).locator('td[data-field="falsePositiveRate"]').textContent())?.trim()).toBe('66.7% (2/3)');
    expect((await weekly.nth(1).locator('td[data-field="falsePositiveRate"]').textContent())?.trim()).toBe('25.0% (1/4)');

    // The trend chart draws this model's line: its colour's pixels, spread across the weeks' span of the canvas.
    const t = trend(api, 'falsePositiveRate');
    const colour = t.series.find((x) => x.label === groupKey(s))!.color;
    expect(PALETTE).toContain(colour);
    const fp = page.locator('[data-testid=governance-chart-falsePositiveRate]');
    await fp.waitFor({ timeout: 20_000 });
    await expect.poll(() => fp.getAttribute('data-drawn'), { timeout: 20_000 }).not.toBeNull();
    const line = await colourPixels(page, 'governance-chart-falsePositiveRate', colour);
    expect(line.count, JSON.stringify(line)).toBeGreaterThan(150);
    expect(line.maxX - line.minX, JSON.stringify(line)).toBeGreaterThan(0.3);
    // The distribution chart: bars in the "Shown" colour (first state).
    const bars = await colourPixels(page, 'governance-chart-distribution', PALETTE[0]);
    expect(bars.count, JSON.stringify(bars)).toBeGreaterThan(200);

    // Drift: the same scores two weeks running (all 0.9): distance 0 from the earlier week, nothing flagged.
    const drift = page.locator('[data-testid=governance-drift] tr[data-group="gov-e2e 1.0"]');
    await expect.poll(() => drift.count(), { timeout: 20_000 }).toBe(2);
    expect((await drift.nth(1).locator('td').nth(3).textContent())?.trim()).toBe('0.00 (4 vs 3)');
    expect(await drift.nth(1).locator('td').nth(3).getAttribute('data-far')).toBe('no');

    // CSV export: downloads with the same numbers.
    const href = await page.locator('[data-testid=governance-csv]').getAttribute('href');
    const csv = await page.evaluate(async (h) => (await fetch(h!)).text(), href);
    const [head, ...lines] = csv.trim().split('\n');
    const cols = head.split(',');
    const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v]))).filter((r) => r.model === 'gov-e2e');
    expect(rows.map((r) => r.produced)).toEqual(['3', '4']);
    expect(rows.map((r) => r['rejected_false-positive'])).toEqual(['2', '1']);

    expect(csp).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('alert rules from the page: a model leaving a range is noticed on the governance page and on the admin page', async () => {
    const page = await browser.newPage();
    await loginInBrowser(page, stack.baseUrl, 'gus');
    await page.goto(`${stack.baseUrl}/governance`);
    await page.locator('[data-testid=governance-rules]').waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('[data-testid=governance-notices]').textContent(), { timeout: 20_000 }).toContain('No model is outside');
    // Judge every week however small: gov-e2e's false-positive rate (2/3, then 1/4) is above the 15 % retraining line.
    await page.getByLabel('Smallest sample judged').fill('1');
    await page.locator('[data-testid=governance-rules-save]').click();
    const notice = page.locator('[data-testid=governance-notices] li[data-model=gov-e2e][data-metric=falsePositiveRate][data-kind=retrain]');
    await expect.poll(() => notice.count(), { timeout: 20_000 }).toBe(2);
    expect(await notice.first().textContent()).toContain('retraining');
    expect((await gus.json<{ rules: { minSample: number } }>('/api/governance/rules')).rules.minSample).toBe(1);
    await page.close();

    const admin = await browser.newPage();
    await loginInBrowser(admin, stack.baseUrl, 'ada');
    await admin.goto(`${stack.baseUrl}/admin`);
    const adminNotice = admin.locator('[data-testid=governance-notices] li[data-model=gov-e2e][data-kind=retrain]');
    await expect.poll(() => adminNotice.count(), { timeout: 30_000 }).toBe(2);
    await adminNotice.first().locator('button', { hasText: 'Acknowledge' }).click();
    await expect.poll(() => adminNotice.count(), { timeout: 20_000 }).toBe(1);
    await admin.close();
  });

  it('threshold what-if from the page: replaying the stored outputs at 0.95 removes the 4 false positives and costs the sensitivity', async () => {
    const page = await browser.newPage();
    await loginInBrowser(page, stack.baseUrl, 'gus');
    await page.goto(`${stack.baseUrl}/governance`);
    const evalRow = page.locator('[data-testid=governance-evaluation] tr[data-group="gov-e2e|1.0|assistive"]');
    await evalRow.waitFor({ timeout: 30_000 });
    // 7 live outputs, all haemorrhage at 0.9: 3 not rejected (true positives), 4 rejected (false positives); the read's one finding found.
    expect((await evalRow.locator('td').allTextContents()).slice(3)).toEqual(['1', '7', '3', '4', '100.0%', '42.9%', '–']);
    await page.getByLabel('What-if model').selectOption('gov-e2e|1.0|assistive');
    await page.getByLabel('What-if threshold').fill('0.95');
    await page.locator('[data-testid=what-if-run]').click();
    const table = page.locator('[data-testid=governance-what-if]');
    await table.waitFor({ timeout: 20_000 });
    const cells = async (row: string) => table.locator(`tr[data-row="${row}"] td`).allTextContents();
    expect(await cells('False positives')).toEqual(['False positives', '4', '0', '-4']);
    expect(await cells('Sensitivity')).toEqual(['Sensitivity', '100.0% (1/1)', '0.0% (0/1)', '-100.0 pts']);
    const api = await gus.json<{ delta: { falsePositives: number; sensitivity: number } }>('/api/governance/what-if?model=gov-e2e&version=1.0&mode=assistive&threshold=0.95');
    expect(api.delta).toMatchObject({ falsePositives: -4, sensitivity: -1 });
    // The sensitivity curve is drawn (its colour on the plot).
    await expect.poll(() => page.locator('[data-testid=governance-chart-what-if]').getAttribute('data-drawn'), { timeout: 20_000 }).not.toBeNull();
    const curve = await colourPixels(page, 'governance-chart-what-if', PALETTE[1]);
    expect(curve.count, JSON.stringify(curve)).toBeGreaterThan(150);
    await page.close();
  });

  it('a radiologist has no governance page (and the gateway refuses the figures)', async () => {
    const page = await browser.newPage();
    await loginInBrowser(page, stack.baseUrl, 'rita');
    await page.goto(`${stack.baseUrl}/governance`);
    await page.getByText('Your role may not view the governance figures.').waitFor({ timeout: 30_000 });
    expect((await rita.fetch('/api/governance/figures')).status).toBe(403);
    await page.close();
  });
});

/** The entries of a ustar archive (what the feedback export hands over): name → bytes. */
function untar(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let off = 0; off + 512 <= buf.length; ) {
    const name = buf.subarray(off, off + 100).toString('latin1').replace(/\0.*$/s, '');
    if (!name) break;
    const size = parseInt(buf.subarray(off + 124, off + 136).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
    out.set(name, buf.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe('governance page: de-identified exports and drift charts', () => {
  it('the feedback export downloads a tar whose manifest and findings list the seeded study and its verdicts, de-identified; the de-identified assessment SRs are listed by role and a refused one is explained', async () => {
    const page = await browser.newPage();
    await loginInBrowser(page, stack.baseUrl, 'gus');
    await page.goto(`${stack.baseUrl}/governance`);
    await page.locator('[data-testid=governance-feedback-export]').waitFor({ timeout: 30_000 });
    await page.getByLabel('Export model').selectOption('gov-e2e');
    const day = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    await page.getByLabel('Export from').fill(day(new Date(Date.now() - 30 * 86_400_000)));
    await page.getByLabel('Export to').fill(day(new Date(Date.now() + 86_400_000)));
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.locator('[data-testid=feedback-export-run]').click()]);
    expect(download.suggestedFilename()).toMatch(/^feedback-gov-e2e-[0-9a-f]{8}\.tar$/);
    const tar = fs.readFileSync((await download.path())!);
    const files = untar(tar);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as {
      model: string;
      period: { from: string | null; to: string | null };
      deidentification: { code: { value: string } };
      studies: { dir: string; studyInstanceUID: string; images: string[]; findings: string; verdicts: number }[];
      refused: Record<string, number>;
    };
    expect(manifest.model).toBe('gov-e2e');
    expect(manifest.period.from).not.toBeNull();
    expect(manifest.deidentification.code.value).toBe('113100');
    // The seeded study, once: its three verdicts given through the API (the two-weeks-old ones were written straight to the store, no verdict record).
    expect(manifest.studies.length).toBe(1);
    const st = manifest.studies[0];
    expect(st.verdicts).toBe(3);
    expect(st.studyInstanceUID).toMatch(/^2\.25\.\d+$/);
    expect(st.images.length).toBe(3);
    for (const img of st.images) expect(files.get(`${st.dir}/${img}`)?.subarray(128, 132).toString('latin1')).toBe('DICM');
    expect(Object.values(manifest.refused).every((n) => n === 0)).toBe(true);
    const body = JSON.parse(files.get(`${st.dir}/${st.findings}`)!.toString('utf8')) as { studyInstanceUID: string; findings: { status: string; verdict?: { role: string | null; reason?: string }; model: { name: string } }[] };
    expect(body.studyInstanceUID).toBe(st.studyInstanceUID);
    // The model's 7 findings as the lifecycle left them: 2 accepted, 3 false positives, 1 artefact, 1 unverified.
    expect(body.findings.length).toBe(7);
    expect(body.findings.every((f) => f.model.name === 'gov-e2e')).toBe(true);
    const tally = body.findings.map((f) => `${f.status}${f.verdict?.reason ? `:${f.verdict.reason}` : ''}`).sort();
    expect(tally).toEqual(['accepted', 'accepted', 'ai-unverified', 'rejected:artefact', 'rejected:false-positive', 'rejected:false-positive', 'rejected:false-positive']);
    expect(body.findings.filter((f) => f.verdict).every((f) => f.verdict!.role === 'radiologist')).toBe(true);
    // No original study UID and no assessor's name anywhere in the archive.
    const text = tar.toString('latin1');
    expect(text.includes(CT)).toBe(false);
    expect(text.includes('rita')).toBe(false);

    // The de-identified assessment SRs: the three verdicts listed by role, never by name. The seeded findings mark a
    // made-up image, so the gateway refuses to build their SR (it reads the marked image's SOP class from the PACS) and
    // the page says why instead of saving anything; the SR bytes themselves are checked in gateway/deid/export.int.test.ts.
    const rows = page.locator('[data-testid=governance-deid-assessments] tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    const listed = await gus.json<{ assessments: { seq: number; role: string; action: string }[] }>('/api/governance/deid/assessments');
    expect(await rows.count()).toBe(listed.assessments.length);
    expect(listed.assessments.filter((a) => a.role === 'radiologist').length).toBeGreaterThanOrEqual(3);
    expect((await rows.allTextContents()).join(' ')).not.toContain('rita');
    let downloads = 0;
    page.on('download', () => downloads++);
    await rows.first().locator('button', { hasText: 'Download SR' }).click();
    await expect.poll(() => page.locator('[data-testid=governance-deid-error]').textContent(), { timeout: 20_000 }).toContain('not in the PACS');
    expect(downloads).toBe(0);
    await page.close();
  });

  it('drift charts paint: score bars for the seeded model, HU-intensity bars for the model the pre-read ran; the drift CSV carries the intensity histogram', async () => {
    // The pre-read of the head CT (a CT model, real pixels) leaves a per-study HU histogram behind.
    let withIntensity: DriftRow | undefined;
    await expect
      .poll(
        async () => {
          withIntensity = (await gus.json<{ rows: DriftRow[] }>('/api/governance/drift')).rows.find((r) => (r.intensity?.n ?? 0) > 0);
          return withIntensity !== undefined;
        },
        { timeout: 90_000, interval: 2000 },
      )
      .toBe(true);
    const hist = withIntensity!.intensity!.histogram;
    expect(Object.values(hist).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(hist['<-900'] ?? 0, JSON.stringify(hist)).toBeGreaterThan(0.1); // air around the head
    expect((hist['20..50'] ?? 0) + (hist['-20..20'] ?? 0), JSON.stringify(hist)).toBeGreaterThan(0.1); // brain and CSF

    const page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await loginInBrowser(page, stack.baseUrl, 'gus');
    await page.goto(`${stack.baseUrl}/governance`);
    const select = page.getByLabel('Drift model');
    await select.waitFor({ timeout: 30_000 });
    // The seeded model: all its scores in 0.9–1.0 both weeks, so both bars stand in that bin.
    await select.selectOption('gov-e2e 1.0');
    await expect.poll(() => page.locator('[data-testid=governance-chart-drift-scores]').getAttribute('data-drawn'), { timeout: 20_000 }).toBe('2');
    for (const colour of [PALETTE[2], PALETTE[3]]) {
      const bars = await colourPixels(page, 'governance-chart-drift-scores', colour);
      expect(bars.count, `${colour} ${JSON.stringify(bars)}`).toBeGreaterThan(200);
      expect(bars.minX, JSON.stringify(bars)).toBeGreaterThan(0.85); // the last bin (0.9–1.0) only
    }
    // The trend of distances is drawn (its axes and the week's point at 0).
    expect((await colourPixels(page, 'governance-chart-drift', PALETTE[0])).count).toBeGreaterThan(5);
    // The pre-read model: its intensity bars, the air bin among them (left end of the axis).
    await select.selectOption(driftKey(withIntensity!));
    await expect.poll(() => page.locator('[data-testid=governance-chart-drift-intensity]').getAttribute('data-drawn'), { timeout: 20_000 }).not.toBeNull();
    const hu = await colourPixels(page, 'governance-chart-drift-intensity', PALETTE[2]);
    expect(hu.count, JSON.stringify(hu)).toBeGreaterThan(200);
    expect(hu.minX, JSON.stringify(hu)).toBeLessThan(0.1);
    const row = page.locator(`[data-testid=governance-drift] tr[data-group="${driftKey(withIntensity!)}"] td[data-field=intensity-top]`).first();
    expect(await row.textContent()).toContain('HU');

    const csv = await page.evaluate(async () => (await fetch('/api/governance/drift.csv')).text());
    const [head, ...lines] = csv.trim().split('\n');
    const cols = head.split(',');
    const line = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v]))).find((r) => r.model === withIntensity!.model && r.week === withIntensity!.week)!;
    expect(Number(line.intensity_n)).toBe(withIntensity!.intensity!.n);
    expect(Number(line['intensity_hu_<-900'])).toBeCloseTo(hist['<-900'] ?? 0, 3);
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
