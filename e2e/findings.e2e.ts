/**
 * AI findings in the real viewer: real Chromium, the production build served by the real gateway,
 * real Orthanc with the demo head CT, and TID 1500 SRs written by DWV. Findings are seeded from the
 * demo fixture (scripts/fixtures/demo-findings.fixture.json) exactly as `npm start` does.
 *
 * The DWV SRs reference a 64x64 MR image that is not in the shared data; the test builds it from
 * the real pydicom MR_small.dcm by giving it the referenced study/series/SOP UIDs (dcmodify), so that
 * the SR's regions have their image in the PACS. Nothing else is synthesised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { login, type Stack } from '../test/harness.js';
import { DICOM, headCtFiles, mrSeriesFiles } from '../scripts/lib/demo-data.js';
import { seedDemoFindings, loadDemoFindings } from '../scripts/seed-demo-findings.js';
import { parseDicomPart10 } from '../src/core/sr/dicom.js';
import { imageToWorld, boxCentre, type ImagePlane } from '../src/core/findings/geometry.js';
import type { Finding } from '../src/core/findings/finding.js';

const CT = '1.2.826.0.1.3680043.9.4245.1760717064491086528325869788156915668';
const DWV_STUDY = '1.2.826.0.1.3680043.9.7278.1.8311611710012173.20240516075655.1';
const DWV_SERIES = '1.2.826.0.1.3680043.9.7278.1.83101114105101115.20240516075655.2';
const DWV_SOP = '1.2.826.0.1.3680043.9.7278.1.83798073110115.20240516075655.3.6';
const DCMQI_STUDY = '1.3.6.1.4.1.14519.5.2.1.2744.7002.150059977302243314164020079415';
const DWV_SR_DIR = path.join(DICOM, 'dwv', 'tests', 'annotation', 'tid1500-0');

let stack: Stack;
let browser: LaunchedBrowser;
let page: Page;
let second: { files: string[]; seriesUID: string; sops: string[] };
/** Uncaught exceptions in the page during the whole file: must stay empty (asserted last). */
const pageErrors: string[] = [];
const isFixture = (id: string) => id.startsWith('fixture-');
const pendingCount = async () => (await fstate()).findings.filter((f) => f.status === 'ai-unverified').length;
const fixture = new Map(loadDemoFindings().map((f) => [f.id, f]));

/** The image plane of a CT file, straight from its DICOM header (independent of the viewer). */
function planeOf(sop: string): ImagePlane {
  for (const file of headCtFiles()) {
    const ds = parseDicomPart10(fs.readFileSync(file)) as Record<string, unknown>;
    if (ds.SOPInstanceUID !== sop) continue;
    const iop = (ds.ImageOrientationPatient as number[]).map(Number);
    const ipp = (ds.ImagePositionPatient as number[]).map(Number);
    const ps = (ds.PixelSpacing as number[]).map(Number);
    return { origin: [ipp[0], ipp[1], ipp[2]], rowCosines: [iop[0], iop[1], iop[2]], columnCosines: [iop[3], iop[4], iop[5]], rowSpacing: ps[0], columnSpacing: ps[1], columns: Number(ds.Columns), rows: Number(ds.Rows) };
  }
  throw new Error(`no CT file with SOP ${sop}`);
}

/**
 * A second series in the head CT study (multi-series study), made of the real 6-slice DWV MR series
 * given the CT's study UID and patient ID (dcmodify); series number 999 keeps the CT first on open.
 */
function buildSecondSeries(dir: string): { files: string[]; seriesUID: string; sops: string[] } {
  const ct = parseDicomPart10(fs.readFileSync(headCtFiles()[0])) as Record<string, unknown>;
  const files = mrSeriesFiles().map((f, i) => {
    const out = path.join(dir, `second-series-${i}.dcm`);
    fs.copyFileSync(f, out);
    execFileSync('dcmodify', ['-nb', '-i', `(0020,000D)=${CT}`, '-i', `(0010,0020)=${String(ct.PatientID)}`, '-i', '(0020,0011)=999', out]);
    return out;
  });
  const ds = files.map((f) => parseDicomPart10(fs.readFileSync(f)) as Record<string, unknown>);
  return { files, seriesUID: String(ds[0].SeriesInstanceUID), sops: ds.map((d) => String(d.SOPInstanceUID)) };
}

function buildDwvReferencedImage(dir: string): string {
  const out = path.join(dir, 'dwv-referenced-mr.dcm');
  fs.copyFileSync(path.join(DICOM, 'pydicom', 'test_files', 'MR_small.dcm'), out);
  execFileSync('dcmodify', ['-nb', '-i', `(0020,000D)=${DWV_STUDY}`, '-i', `(0020,000E)=${DWV_SERIES}`, '-i', `(0008,0018)=${DWV_SOP}`, '-i', '(0010,0020)=DWV0001', out]);
  return out;
}

type FState = { findings: (Pick<Finding, 'id' | 'status' | 'source' | 'label' | 'originalId' | 'regions' | 'verdict' | 'extent'>)[]; marks: { id: string; status: string; rect: { x: number; y: number; width: number; height: number } }[]; selectedId: string | null; overlaysVisible: boolean; heatmapsVisible: boolean; heatmapsDrawn: number; srWarnings: string[]; loading: boolean; signoff: { signedBy: string } | null };
type VState = { seriesUID: string | null; imageIndex: number; imageCount: number; activeSopInstanceUID: string | null; firstImageShown: boolean; camera: { parallelScale: number; focalPoint: number[] } | null };

// null until the lazily loaded viewer chunk has run
const fstate = () => page.evaluate(() => window.__findings?.getState() ?? null) as Promise<FState>;
const vstate = () => page.evaluate(() => (window as unknown as { __viewer?: { getState(): unknown } }).__viewer?.getState() ?? null) as Promise<VState>;

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await fn();
  while (!v || !ok(v)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v, (k, x) => (k === 'regions' || k === 'marks' ? undefined : x)).slice(0, 1500)}`);
    await page.waitForTimeout(100);
    v = await fn();
  }
  return v;
}

/** Pixels of a page region that look like a colour (AI marks and heatmaps; the CT itself is grey). */
async function colourPixels(rect: { x: number; y: number; width: number; height: number }, pad = 3): Promise<{ amber: number; coloured: number; chroma: number; total: number }> {
  const clip = { x: Math.max(0, rect.x - pad), y: Math.max(0, rect.y - pad), width: rect.width + 2 * pad, height: rect.height + 2 * pad };
  const png = await page.screenshot({ clip, type: 'png' });
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let amber = 0, coloured = 0, chroma = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r, gg, b] = [d[i], d[i + 1], d[i + 2]];
      if (r > 200 && gg > 130 && gg < 210 && b < 80) amber++;
      if (Math.max(r, gg, b) - Math.min(r, gg, b) > 60) coloured++;
      chroma += Math.max(r, gg, b) - Math.min(r, gg, b);
    }
    return { amber, coloured, chroma: chroma / (d.length / 4), total: d.length / 4 };
  }, png.toString('base64'));
}

async function openStudy(study: string) {
  await page.goto(`${stack.baseUrl}/viewer/${study}`);
  await until('first image', vstate, (v) => !!v?.firstImageShown, 60_000);
  await until('findings loaded', fstate, (s) => !!s && !s.loading && s.findings.length > 0, 30_000);
}

/** Scrolls with the keyboard (as a reader would) until the given SOP instance is shown. */
async function scrollToSop(sop: string) {
  await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
  for (let i = 0; i < 60; i++) {
    const v = await vstate();
    if (v.activeSopInstanceUID === sop) return;
    await page.keyboard.press('ArrowDown');
    await page.waitForTimeout(60);
  }
  throw new Error(`never reached ${sop}`);
}

beforeAll(async () => {
  const tmp = fs.mkdtempSync(path.join('/tmp', 'rs-findings-e2e-'));
  const srFiles = fs.readdirSync(DWV_SR_DIR).filter((f) => f.endsWith('.dcm')).map((f) => path.join(DWV_SR_DIR, f));
  const dcmqi = ['sr.dcm', 'seg.dcm'].map((f) => path.join(DICOM, 'dcmqi', 'data', 'sr-example', f));
  second = buildSecondSeries(tmp);
  stack = await startE2EStack({ files: [...headCtFiles(), ...second.files, buildDwvReferencedImage(tmp), ...srFiles, ...dcmqi] });
  fs.rmSync(tmp, { recursive: true, force: true });
  await seedDemoFindings(stack.gateway.store.db);
  browser = await launchBrowser({ viewport: { width: 1400, height: 900 } });
  page = browser.page;
  page.on('pageerror', (e) => {
    pageErrors.push(e.message);
    console.error('[page error]', e.message);
  });
  await loginInBrowser(page, stack.baseUrl, 'rita');
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('AI findings on the image', () => {
  it('loads the study’s findings on open, sorted, with a pending count', async () => {
    await openStudy(CT);
    const s = await fstate();
    // The pre-read service may add its own findings to the study at any time: check ours, in order.
    expect(s.findings.map((f) => f.id).filter(isFixture)).toEqual(['fixture-ct-ich-1', 'fixture-ct-ich-2', 'fixture-ct-fracture-1']);
    await expect.poll(async () => (await page.locator('[data-testid=findings-pending]').textContent()) === `${await pendingCount()} pending`).toBe(true);
    const row = page.locator('[data-testid=findings-panel] li[data-finding-id="fixture-ct-ich-1"]');
    expect(await row.textContent()).toMatch(/Intracranial hemorrhage.*91%.*slices? [\d–]+\/28.*ich-detector-demo/);
  });

  it('draws the box on the right slice (pixel check) and one key hides / shows all AI marks', async () => {
    const f = fixture.get('fixture-ct-ich-2')!;
    await scrollToSop(f.regions[0].image.sopInstanceUID);
    const s = await until('mark on screen', fstate, (x) => x.marks.some((m) => m.id === f.id));
    const mark = s.marks.find((m) => m.id === f.id)!;
    // Only this finding's mark is on this slice.
    expect(s.marks.map((m) => m.id).filter(isFixture)).toEqual([f.id]);
    const shown = await colourPixels(mark.rect);
    expect(shown.amber).toBeGreaterThan(20);
    await page.keyboard.press('o');
    await until('marks hidden', fstate, (x) => !x.overlaysVisible && x.marks.length === 0);
    expect(await page.getByTestId('toggle-ai-overlays').getAttribute('aria-pressed')).toBe('false');
    const hidden = await colourPixels(mark.rect);
    expect(hidden.amber).toBe(0);
    await page.keyboard.press('o');
    await until('marks back', fstate, (x) => x.overlaysVisible && x.marks.some((m) => m.id === f.id));
    expect((await colourPixels(mark.rect)).amber).toBeGreaterThan(20);
    // One step onto a slice that no finding touches: the mark goes (the overlay skips its work on such
    // slices only when nothing is drawn yet).
    const marked = new Set((await fstate()).findings.flatMap((x) => x.regions.map((r) => r.image.sopInstanceUID)));
    await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
    let prev = (await vstate()).imageIndex;
    let moved = false;
    for (const key of ['ArrowDown', 'ArrowUp'] as const) {
      for (let i = 0; i < 8 && !moved; i++) {
        await page.keyboard.press(key);
        const v = await until('slice change', vstate, (x) => x.imageIndex !== prev, 3000).catch(() => null);
        if (!v) break; // an end of the stack
        prev = v.imageIndex;
        moved = !marked.has(v.activeSopInstanceUID!);
      }
      if (moved) break;
    }
    expect(moved).toBe(true);
    await until('no marks on an unmarked slice', fstate, (x) => x.marks.length === 0 && x.heatmapsDrawn === 0);
    expect((await colourPixels(mark.rect)).amber).toBe(0);
  });

  it('sidebar click lands on the finding’s slice, box centred and about a third of the viewport; heatmap toggles alone', async () => {
    const f = fixture.get('fixture-ct-ich-1')!;
    await page.locator(`[data-testid=findings-panel] li[data-finding-id="${f.id}"]`).click({ position: { x: 10, y: 8 } });
    const sop = f.regions[0].image.sopInstanceUID;
    const v = await until('slice of the finding', vstate, (x) => x.activeSopInstanceUID === sop);
    // Camera centred on the box centre in world coordinates, computed here from the DICOM header.
    const centre = imageToWorld(planeOf(sop), boxCentre(f.regions[0].box!));
    const cam = await until('camera centred', vstate, (x) => !!x.camera && Math.hypot(...x.camera.focalPoint.slice(0, 2).map((c, i) => c - centre[i])) < 0.5);
    expect(cam.imageIndex).toBe(v.imageIndex);
    const vp = (await page.getByTestId('viewport').boundingBox())!;
    // The overlay re-renders on the camera event after the scroll: wait for that render, not the one before.
    const centred = (m: { rect: { x: number; y: number; width: number; height: number } }) => Math.abs(m.rect.x + m.rect.width / 2 - (vp.x + vp.width / 2)) < 4 && Math.abs(m.rect.y + m.rect.height / 2 - (vp.y + vp.height / 2)) < 4;
    const s = await until('selected mark', fstate, (x) => x.selectedId === f.id && x.marks.some((m) => m.id === f.id && centred(m)), 5000);
    const mark = s.marks.find((m) => m.id === f.id)!;
    expect(Math.abs(mark.rect.x + mark.rect.width / 2 - (vp.x + vp.width / 2))).toBeLessThan(4);
    expect(Math.abs(mark.rect.y + mark.rect.height / 2 - (vp.y + vp.height / 2))).toBeLessThan(4);
    const fill = Math.max(mark.rect.width / vp.width, mark.rect.height / vp.height);
    expect(fill).toBeGreaterThan(0.28);
    expect(fill).toBeLessThan(0.4);

    // Heatmaps are explanations on demand: none drawn until asked; 'h' shows the heatmap (32x32 grid on
    // a 512x512 image), registered to the box region, and hides it again alone.
    expect(s.heatmapsVisible).toBe(false);
    expect(s.heatmapsDrawn).toBe(0);
    await page.keyboard.press('h');
    await until('heatmap shown on demand', fstate, (x) => x.heatmapsVisible && x.heatmapsDrawn === 1);
    const inner = { x: mark.rect.x + mark.rect.width * 0.3, y: mark.rect.y + mark.rect.height * 0.3, width: mark.rect.width * 0.4, height: mark.rect.height * 0.4 };
    const withHeat = await colourPixels(inner, 0);
    // The box outline (a strip along its top edge) with the heatmap on.
    const edge = { x: mark.rect.x + 4, y: mark.rect.y - 2, width: mark.rect.width - 8, height: 4 };
    const edgeHeat = await colourPixels(edge, 0);
    await expect.poll(() => page.getByTestId('findings-colourbar').count()).toBe(1);
    // The colour bar keeps clear of the four corner text blocks.
    const bar = (await page.getByTestId('findings-colourbar').boundingBox())!;
    const corners = await page.evaluate(() =>
      [...document.querySelectorAll('.overlay-text > .tl, .overlay-text > .tr, .overlay-text > .bl, .overlay-text > .br')].map((e) => {
        const r = e.getBoundingClientRect();
        return { cls: e.className, x: r.x, y: r.y, width: r.width, height: r.height };
      }),
    );
    expect(corners.length).toBe(4);
    for (const c of corners) {
      const overlap = bar.x < c.x + c.width && c.x < bar.x + bar.width && bar.y < c.y + c.height && c.y < bar.y + bar.height;
      expect(overlap, `colour bar ${JSON.stringify(bar)} over corner ${JSON.stringify(c)}`).toBe(false);
    }
    await page.keyboard.press('h');
    await until('heatmap hidden', fstate, (x) => !x.heatmapsVisible && x.heatmapsDrawn === 0);
    const noHeat = await colourPixels(inner, 0);
    expect(noHeat.coloured / noHeat.total).toBeLessThan(0.05);
    // Inside the selected box the heatmap is faded, not removed: still tinted, the grey values still read.
    expect(withHeat.chroma).toBeGreaterThan(noHeat.chroma + 8);
    // The outline keeps its colour with the heatmap under it (the heatmap never paints over the box).
    const edgeNoHeat = await colourPixels(edge, 0);
    expect(edgeNoHeat.amber).toBeGreaterThan(10);
    expect(edgeHeat.amber).toBeGreaterThanOrEqual(edgeNoHeat.amber * 0.9);
    expect((await fstate()).marks.some((m) => m.id === f.id)).toBe(true); // boxes stay
    await page.keyboard.press('h');
    await until('heatmap back', fstate, (x) => x.heatmapsVisible && x.heatmapsDrawn === 1);
  });

  it('findings panel text is at least 12 px everywhere (readable at arm’s length)', async () => {
    const small = await page.evaluate(() =>
      [...document.querySelectorAll('[data-testid=findings-panel] *')]
        .filter((e) => [...e.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim()))
        .map((e) => ({ text: e.textContent!.trim().slice(0, 40), size: parseFloat(getComputedStyle(e).fontSize) }))
        .filter((x) => x.size < 12),
    );
    expect(small).toEqual([]);
    expect(await page.locator('[data-testid=findings-panel] li').count()).toBeGreaterThan(0);
  });

  it('marks follow a zoom change in the same render (pan: see the centring test above)', async () => {
    const f = fixture.get('fixture-ct-ich-1')!;
    const before = (await fstate()).marks.find((m) => m.id === f.id)!;
    await page.keyboard.press('-'); // viewer zoom out (0.8x)
    const after = await until('mark rescaled', fstate, (x) => {
      const m = x.marks.find((mm) => mm.id === f.id);
      return !!m && Math.abs(m.rect.width - before.rect.width) > 1;
    });
    const m = after.marks.find((mm) => mm.id === f.id)!;
    expect(m.rect.width / before.rect.width).toBeCloseTo(0.8, 1);
    expect((await colourPixels(m.rect)).amber).toBeGreaterThan(10);
  });

  it('accept, reject and modify by keyboard are stored, attributed, and survive a reload; undo works', async () => {
    await openStudy(CT);
    await page.locator('li[data-finding-id="fixture-ct-ich-1"]').click({ position: { x: 10, y: 8 } });
    await until('ich-1 selected', fstate, (x) => x.selectedId === 'fixture-ct-ich-1');
    // Keys act on the selected finding; N/P walk the sorted list (ich-1, ich-2, fracture).
    await page.keyboard.press('a'); // accept ich-1
    await until('ich-1 accepted', fstate, (x) => x.findings.find((f) => f.id === 'fixture-ct-ich-1')?.status === 'accepted');
    await page.keyboard.press('n');
    await until('ich-2 selected', fstate, (x) => x.selectedId === 'fixture-ct-ich-2');
    await page.keyboard.press('x'); // reject ich-2
    await until('ich-2 rejected', fstate, (x) => x.findings.find((f) => f.id === 'fixture-ct-ich-2')?.status === 'rejected');
    await page.keyboard.press('X'); // reason: false positive
    await until('reason', fstate, (x) => x.findings.find((f) => f.id === 'fixture-ct-ich-2')?.verdict?.reason === 'false-positive');
    await page.keyboard.press('P');
    await until('ich-1 selected', fstate, (x) => x.selectedId === 'fixture-ct-ich-1');
    await page.keyboard.press('.'); // modify: enlarge box by 10%
    const mod = await until('ich-1 modified', fstate, (x) => x.findings.some((f) => f.id === 'fixture-ct-ich-1~mod'));
    const modified = mod.findings.find((f) => f.id === 'fixture-ct-ich-1~mod')!;
    expect(modified.originalId).toBe('fixture-ct-ich-1');
    expect(modified.regions[0].box!.width).toBeCloseTo(88, 5);
    expect(mod.findings.some((f) => f.id === 'fixture-ct-ich-1')).toBe(false);
    expect((await fstate()).findings.filter((f) => isFixture(f.id) && f.status === 'ai-unverified').map((f) => f.id)).toEqual(['fixture-ct-fracture-1']);
    await expect.poll(async () => (await page.locator('[data-testid=findings-pending]').textContent()) === `${await pendingCount()} pending`).toBe(true);

    await page.reload();
    await until('first image', vstate, (v) => !!v?.firstImageShown, 60_000);
    const after = await until('findings after reload', fstate, (s) => !s.loading && s.findings.filter((f) => isFixture(f.id)).length === 3);
    const by = new Map(after.findings.map((f) => [f.id, f]));
    expect(by.get('fixture-ct-ich-1~mod')?.status).toBe('modified');
    expect(by.get('fixture-ct-ich-1~mod')?.verdict?.by).toBe('rita');
    expect(by.get('fixture-ct-ich-2')?.status).toBe('rejected');
    expect(by.get('fixture-ct-ich-2')?.verdict?.reason).toBe('false-positive');
    expect(by.get('fixture-ct-fracture-1')?.status).toBe('ai-unverified');

    // The same through the API (what the SR/HL7 sinks read).
    const api = await login(stack.baseUrl, 'rita');
    const stored = await api.json<{ findings: Finding[] }>(`/api/studies/${CT}/findings`);
    expect(stored.findings.find((f) => f.id === 'fixture-ct-ich-1~mod')?.regions[0].box?.width).toBeCloseTo(88, 5);

    // Undo (one click in the row) brings back the AI original, unverified.
    await page.locator('li[data-finding-id="fixture-ct-ich-1~mod"] button[data-action=undo]').click();
    await until('original back', fstate, (x) => x.findings.find((f) => f.id === 'fixture-ct-ich-1')?.status === 'accepted');
    await page.locator('li[data-finding-id="fixture-ct-ich-1"] button[data-action=undo]').click();
    await until('unverified again', fstate, (x) => x.findings.find((f) => f.id === 'fixture-ct-ich-1')?.status === 'ai-unverified');
  });

  it('dragging a box handle modifies the finding', async () => {
    await openStudy(CT);
    await page.locator('li[data-finding-id="fixture-ct-ich-1"]').click({ position: { x: 10, y: 8 } });
    const s = await until('selected', fstate, (x) => x.selectedId === 'fixture-ct-ich-1' && x.marks.some((m) => m.id === 'fixture-ct-ich-1'));
    const mark = s.marks.find((m) => m.id === 'fixture-ct-ich-1')!;
    const handle = page.locator('[data-finding-id="fixture-ct-ich-1"] [data-handle=se]');
    const hb = (await handle.boundingBox())!;
    await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
    await page.mouse.down();
    await page.mouse.move(hb.x + hb.width / 2 + mark.rect.width * 0.25, hb.y + hb.height / 2 + 10, { steps: 5 });
    await page.mouse.up();
    const after = await until('drag stored', fstate, (x) => x.findings.some((f) => f.id === 'fixture-ct-ich-1~mod'));
    const box = after.findings.find((f) => f.id === 'fixture-ct-ich-1~mod')!.regions[0].box!;
    expect(box.x).toBeCloseTo(150, 0);
    expect(box.width).toBeGreaterThan(80 * 1.15);
    await page.keyboard.press('u');
    await until('undo drag', fstate, (x) => x.findings.some((f) => f.id === 'fixture-ct-ich-1'));
  });

  it('Enter on a sidebar row focused by keyboard lands on the finding’s slice', async () => {
    const f = fixture.get('fixture-ct-fracture-1')!;
    const sop = f.regions.find((r) => r.box || r.polygon)!.image.sopInstanceUID;
    await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Home');
    await until('first slice', vstate, (v) => v.imageIndex === 0 && v.activeSopInstanceUID !== sop);
    // Keyboard only from here: Tab into the findings list, arrows to the row, then Enter.
    const focused = () => page.evaluate(() => {
      const a = document.activeElement as HTMLElement | null;
      return { row: a?.matches('[data-testid=findings-panel] li[data-finding-id]') ? a.getAttribute('data-finding-id') : null, what: a ? `${a.tagName}.${a.className}` : 'none' };
    });
    // Tab does not leave the viewport element once it has focus (viewer behaviour, reported): start from the page.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const seen: string[] = [];
    for (let i = 0; i < 150 && !(await focused()).row; i++) {
      await page.keyboard.press('Tab');
      seen.push((await focused()).what);
    }
    expect((await focused()).row, `focus went through: ${seen.join(' ')}`).not.toBeNull();
    const order = (await fstate()).findings.map((x) => x.id);
    for (let i = 0; i < order.length && (await focused()).row !== f.id; i++) {
      await page.keyboard.press(order.indexOf((await focused()).row!) < order.indexOf(f.id) ? 'ArrowDown' : 'ArrowUp');
    }
    expect((await focused()).row).toBe(f.id);
    await page.keyboard.press('Enter');
    await until('slice of the finding', vstate, (v) => v.activeSopInstanceUID === sop);
    await until('selected', fstate, (x) => x.selectedId === f.id && x.marks.some((m) => m.id === f.id));
  });

  it('{ / } set the selected finding’s slice range to the current slice: shown at once, stored, undoable, survives reload', async () => {
    const id = 'fixture-ct-ich-1';
    const row = (x = id) => page.locator(`[data-testid=findings-panel] li[data-finding-id="${x}"]`);
    await row().click({ position: { x: 10, y: 8 } });
    const start = await until('ich-1 slice', vstate, (v) => v.activeSopInstanceUID === fixture.get(id)!.regions[0].image.sopInstanceUID);
    const i0 = start.imageIndex;
    expect(i0).toBeGreaterThanOrEqual(2);
    expect(i0 + 3).toBeLessThan(start.imageCount);
    await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
    const stepTo = async (target: number) => {
      const key = target > (await vstate()).imageIndex ? 'ArrowDown' : 'ArrowUp';
      while ((await vstate()).imageIndex !== target) {
        await page.keyboard.press(key);
        await page.waitForTimeout(40);
      }
      return (await vstate()).activeSopInstanceUID!;
    };
    const lastSop = await stepTo(i0 + 3);

    // Hold the server's answer: the sidebar must show the verdict before it arrives (optimistic).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await page.route('**/api/findings/*/verdict', async (route) => {
      await gate;
      await route.continue();
    });
    const answered = page.waitForResponse((r) => r.url().endsWith('/verdict') && r.request().method() === 'POST');
    await page.keyboard.press('}');
    await until('shown before the server answered', fstate, (x) => x.findings.find((f) => f.id === `${id}~mod`)?.extent?.lastSopInstanceUID === lastSop, 3000);
    await expect.poll(() => row(`${id}~mod`).getByTestId('finding-slice').textContent(), { timeout: 3000 }).toMatch(new RegExp(`^slices \\d+–${i0 + 4}/`));
    release();
    expect((await answered).status()).toBe(200);
    await page.unroute('**/api/findings/*/verdict');

    const firstSop = await stepTo(i0 - 2);
    const answered2 = page.waitForResponse((r) => r.url().endsWith('/verdict') && r.request().method() === 'POST');
    await page.keyboard.press('{');
    expect((await answered2).status()).toBe(200);
    await expect.poll(() => row(`${id}~mod`).getByTestId('finding-slice').textContent()).toBe(`slices ${i0 - 1}–${i0 + 4}/${start.imageCount}`);

    await page.reload();
    await until('first image', vstate, (v) => !!v?.firstImageShown, 60_000);
    const after = await until('range after reload', fstate, (x) => !x.loading && x.findings.some((f) => f.id === `${id}~mod`));
    const mod = after.findings.find((f) => f.id === `${id}~mod`)!;
    expect(mod.extent).toEqual({ firstSopInstanceUID: firstSop, lastSopInstanceUID: lastSop });
    expect(mod.originalId).toBe(id);
    expect(mod.verdict?.by).toBe('rita');
    await expect.poll(() => row(`${id}~mod`).getByTestId('finding-slice').textContent()).toBe(`slices ${i0 - 1}–${i0 + 4}/${start.imageCount}`);

    // Undo, one step at a time: first the '{', then the '}' (back to the AI original).
    await row(`${id}~mod`).locator('button[data-action=undo]').click();
    await until('first undo', fstate, (x) => {
      const e = x.findings.find((f) => f.id === `${id}~mod`)?.extent;
      return !!e && e.lastSopInstanceUID === lastSop && e.firstSopInstanceUID !== firstSop;
    });
    await row(`${id}~mod`).locator('button[data-action=undo]').click();
    const orig = await until('original back', fstate, (x) => x.findings.some((f) => f.id === id) && !x.findings.some((f) => f.id === `${id}~mod`));
    expect(orig.findings.find((f) => f.id === id)!.extent).toEqual(fixture.get(id)!.extent);
  });

  it('a finding on another series of the study switches the viewport to that series and slice', async () => {
    const sop = second.sops[3];
    const api = await login(stack.baseUrl, 'rita');
    const tpl = fixture.get('fixture-ct-fracture-1')!;
    const other = {
      id: 'e2e-other-series-1',
      studyInstanceUID: CT,
      type: tpl.type,
      label: tpl.label,
      confidence: 0.01,
      severity: 'routine',
      // status, source and times are the server's (an import that sets them is refused)
      model: tpl.model,
      regions: [{ image: { seriesInstanceUID: second.seriesUID, sopInstanceUID: sop }, box: { x: 10, y: 10, width: 20, height: 20 } }],
    };
    const res = await api.post('/api/findings', other);
    expect(res.status, await res.clone().text()).toBe(201);
    await openStudy(CT);
    const v0 = await vstate();
    expect(v0.seriesUID).not.toBe(second.seriesUID);
    await until('listed', fstate, (x) => x.findings.some((f) => f.id === other.id));
    // Least severe and least confident: last in the list, so P (previous) from no selection wraps to it.
    expect((await fstate()).findings.at(-1)?.id).toBe(other.id);
    await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('P');
    const v = await until('other series shown', vstate, (x) => x.seriesUID === second.seriesUID && x.activeSopInstanceUID === sop, 30_000);
    expect(v.imageCount).toBe(second.sops.length);
    await until('its mark drawn', fstate, (x) => x.selectedId === other.id && x.marks.some((m) => m.id === other.id));
    // N from here wraps to the first finding, back on the CT series.
    await page.keyboard.press('n');
    await until('back on the CT', vstate, (x) => x.seriesUID === v0.seriesUID);
  });

  it('lists the shortcuts in the help overlay', async () => {
    await page.keyboard.press('?');
    const help = page.getByText('Show / hide all AI marks');
    await expect.poll(() => help.count()).toBeGreaterThan(0);
    await page.keyboard.press('?');
  });

  it('reads DWV’s TID 1500 SRs in the study and shows their regions on the referenced image, with warnings', async () => {
    await page.goto(`${stack.baseUrl}/viewer/${DWV_STUDY}`);
    await until('first image', vstate, (v) => !!v?.firstImageShown, 60_000);
    const s = await until('SR findings', fstate, (x) => x.findings.filter((f) => f.source === 'sr').length >= 21, 60_000);
    expect(s.srWarnings.length).toBeGreaterThan(0);
    const sr = s.findings.filter((f) => f.source === 'sr');
    expect(sr.every((f) => f.regions.every((r) => r.image.sopInstanceUID === DWV_SOP))).toBe(true);
    const v = await vstate();
    expect(v.activeSopInstanceUID).toBe(DWV_SOP);
    const withGeometry = new Set(sr.filter((f) => f.regions.some((r) => r.box || r.polygon)).map((f) => f.id));
    const onScreen = (x: FState) => new Set(x.marks.map((m) => m.id).filter((id) => withGeometry.has(id)));
    const marks = await until('SR marks', fstate, (x) => onScreen(x).size === withGeometry.size);
    expect(onScreen(marks).size).toBe(21);
    // Pixel check: an SR region is drawn (violet) where the overlay says it is.
    const first = marks.marks.find((m) => withGeometry.has(m.id))!;
    expect((await colourPixels(first.rect)).coloured).toBeGreaterThan(5);
    await expect.poll(() => page.getByTestId('findings-sr-warnings').count()).toBe(1);
    // The SR's findings were read by the gateway (not by this page) and are ordinary unverified findings:
    // stored server-side with source sr, given verdicts like any other.
    const api = await login(stack.baseUrl, 'rita');
    const served = await api.json<{ findings: Finding[]; srWarnings: string[] }>(`/api/studies/${DWV_STUDY}/findings`);
    expect(served.findings.filter((f) => f.source === 'sr').map((f) => f.id).sort()).toEqual(sr.map((f) => f.id).sort());
    expect(served.findings.every((f) => f.ingestedBy === 'sr-reader')).toBe(true);
    expect(served.srWarnings.length).toBe(s.srWarnings.length);
    expect(await page.locator('[data-testid=findings-panel] button[data-action=accept]').count()).toBe(sr.length);
  });

  it('survives dcmqi’s non-conformant SR: its image-level finding is listed, with warnings, no crash', async () => {
    const errors: string[] = [];
    const onError = (e: Error) => errors.push(e.message);
    page.on('pageerror', onError);
    await page.goto(`${stack.baseUrl}/viewer/${DCMQI_STUDY}`);
    const s = await until('dcmqi SR finding', fstate, (x) => x.findings.some((f) => f.source === 'sr'), 60_000).catch(async (e: Error) => {
      throw new Error(`${e.message}\npage: ${page.url()}\n${(await page.locator('body').innerText()).slice(0, 1500)}`);
    });
    const f = s.findings.find((x) => x.source === 'sr')!;
    expect(f.label).toMatch(/Neoplasm/);
    // Its region refers to the SEG instance in the study (no 2D geometry to draw).
    expect(f.regions[0].image.sopInstanceUID).toBe('1.2.276.0.7230010.3.1.4.8323329.18591.1440001312.777033');
    expect(s.srWarnings.join('\n')).toMatch(/Certainty of Finding/);
    await expect.poll(() => page.locator(`[data-testid=findings-panel] li[data-finding-id="${f.id}"]`).count()).toBe(1);
    page.off('pageerror', onError);
    expect(errors).toEqual([]);
  });

  it('the sign-off key S asks, Esc cancels, S again signs: the SR findings are recorded as left unverified', async () => {
    await openStudy(DWV_STUDY);
    const api = await login(stack.baseUrl, 'rita');
    const srIds = (await fstate()).findings.filter((f) => f.source === 'sr' && f.status === 'ai-unverified').map((f) => f.id).sort();
    expect(srIds.length).toBeGreaterThanOrEqual(21);
    await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Shift+S');
    const confirm = page.getByTestId('findings-signoff-confirm');
    await expect.poll(() => confirm.count()).toBe(1);
    await page.keyboard.press('Escape');
    await expect.poll(() => confirm.count()).toBe(0);
    expect((await api.json<{ signoff: unknown }>(`/api/studies/${DWV_STUDY}/findings`)).signoff).toBeNull();
    await page.locator('[data-testid=viewport]').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Shift+S');
    await expect.poll(() => confirm.count()).toBe(1);
    await page.keyboard.press('Shift+S');
    await until('signed', fstate, (x) => !!x.signoff?.signedBy);
    const signed = await api.json<{ signoff: { unverifiedIds: string[] } }>(`/api/studies/${DWV_STUDY}/findings`);
    expect(signed.signoff.unverifiedIds.sort()).toEqual(srIds);
  });

  it('sign-off with unverified findings asks one more key (Enter), records them, and shows final / SR stored / ORU', async () => {
    await openStudy(CT);
    await expect.poll(() => page.locator('button[data-action=signoff]').count()).toBe(1);
    const pendingIds = (await fstate()).findings.filter((f) => f.status === 'ai-unverified').map((f) => f.id).sort();
    expect(pendingIds.length).toBeGreaterThan(0);
    await page.locator('button[data-action=signoff]').click();
    // Not signed yet: the panel lists what is unverified and waits for Enter.
    const confirm = page.getByTestId('findings-signoff-confirm');
    await expect.poll(() => confirm.count()).toBe(1);
    expect(await confirm.textContent()).toContain(`${pendingIds.length} finding(s) are still unverified`);
    const api = await login(stack.baseUrl, 'rita');
    expect((await api.json<{ signoff: unknown }>(`/api/studies/${CT}/findings`)).signoff).toBeNull();
    await page.keyboard.press('Enter');
    await until('signed', fstate, (x) => !!x.signoff?.signedBy);
    const signed = await api.json<{ signoff: { signedBy: string; unverifiedIds: string[]; srState: string } }>(`/api/studies/${CT}/findings`);
    expect(signed.signoff.signedBy).toBe('rita');
    expect(signed.signoff.unverifiedIds.sort()).toEqual(pendingIds);
    await expect.poll(async () => (await page.getByTestId('findings-signed').textContent()) ?? '').toMatch(/Final: signed off by rita/);
    expect(await page.getByTestId('signoff-left-unverified').textContent()).toBe(`${pendingIds.length} left unverified`);
    // The verified SR reaches the PACS through the outbox; the panel follows it without a reload.
    await expect.poll(() => page.locator('[data-testid=signoff-sr][data-state=acknowledged]').count(), { timeout: 60_000 }).toBe(1);
    expect(await page.getByTestId('signoff-sr').textContent()).toBe('SR: stored');
    expect((await api.json<{ signoff: { srState: string } }>(`/api/studies/${CT}/findings`)).signoff.srState).toBe('acknowledged');
    expect(await page.locator('[data-testid=signoff-oru]').getAttribute('data-state')).toMatch(/^(pending|sent|acknowledged|failed)$/);
    expect(await page.locator('button[data-action=accept]').count()).toBe(0);
  });

  it('no uncaught exception reached the page during these tests', () => {
    expect(pageErrors).toEqual([]);
  });
});
