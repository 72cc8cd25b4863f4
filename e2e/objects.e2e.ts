/**
 * Result objects other vendors send (issue 15 item 5), in Chromium against the real gateway and
 * Orthanc, checked on pixels:
 * - the shared DICOM SEG (pydicom-data liver.dcm, SEMIAUTOMATIC "SlicerEditor", one "Liver" segment)
 *   with the 3 CT slices it was made on (dcmqi ct-3slice): the segment's pixels are coloured in its
 *   recommended CIELab colour, and vanish when the segment is switched off, and with the one-key AI switch;
 * - the shared float parametric map (highdicom) on its CT (pydicom CT_small): coloured, with a colour
 *   bar that does not cover the corner text;
 * - a GSPS made here with dcmtk's dcmpsmk from a shared head CT slice, with a text annotation, a
 *   polyline, a circle, a rectangular shutter and an AI vendor as processing algorithm added with
 *   dcmodify, checked with dcmpschk: the text's pixels are drawn; applying it sets its VOI and shutter;
 * - a KOS built here with dcmjs naming the 5th slice: clicking it lands the viewport on that image;
 * - a Comprehensive SR that is not TID 1500 (pydicom test-SR.dcm): shown as a readable tree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { startE2EStack, loginInBrowser } from './lib/stack.js';
import { launchBrowser, type LaunchedBrowser } from './lib/browser.js';
import { DICOM, HEAD_CT_DIR } from '../scripts/lib/demo-data.js';
import { uidFor } from '../scripts/lib/demo-studies.js';
import { writeDicomPart10 } from '../src/core/sr/dicom.js';
import { dicomLabToRgb } from '../src/core/objects/seg.js';
import type { Stack } from '../test/harness.js';

const PD = path.join(DICOM, 'pydicom-data', 'data_store', 'data');
const CT3 = path.join(DICOM, 'dcmqi', 'data', 'segmentations', 'ct-3slice');
const SEG_STUDY = '1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1';
const PM_STUDY = '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322';
const STUDY = uidFor('e2e-objects/study');
const CT_SERIES = uidFor('e2e-objects/ct');
const SLICES = ['01.dcm', '02.dcm', '03.dcm', '04.dcm', '05.dcm', '06.dcm'];
const sopOf = (i: number) => uidFor(`e2e-objects/ct/${i}`);
const LIVER = dicomLabToRgb([41661, 41167, 40792]);

function ctSlices(work: string): string[] {
  return SLICES.map((f, i) => {
    const dest = path.join(work, `ct-${f}`);
    fs.copyFileSync(path.join(HEAD_CT_DIR, f), dest);
    fs.chmodSync(dest, 0o644);
    execFileSync('dcmodify', ['-nb', '-i', '(0010,0010)=Objects^E2E', '-i', '(0010,0020)=E2E15O', '-i', `(0020,000D)=${STUDY}`, '-i', `(0020,000E)=${CT_SERIES}`, '-i', `(0008,0018)=${sopOf(i)}`, dest]);
    return dest;
  });
}

/** dcmpsmk's GSPS of slice 3, with annotations, a shutter and an AI vendor added; dcmpschk must pass it. */
function gsps(work: string, slice: string): string {
  const out = path.join(work, 'pr.dcm');
  execFileSync('dcmpsmk', [slice, out]);
  const ga = '(0070,0001)[0]';
  execFileSync('dcmodify', [
    '-nb',
    '-i', `(0020,000E)=${uidFor('e2e-objects/pr-series')}`, '-i', `(0008,0018)=${uidFor('e2e-objects/pr')}`,
    '-i', '(0070,0060)[0].(0070,0002)=AI', '-i', '(0070,0060)[0].(0070,0062)=1',
    '-i', `${ga}.(0070,0002)=AI`,
    '-i', `${ga}.(0070,0008)[0].(0070,0003)=PIXEL`, '-i', `${ga}.(0070,0008)[0].(0070,0006)=BLEED SUSPECTED`,
    '-i', `${ga}.(0070,0008)[0].(0070,0010)=100\\60`, '-i', `${ga}.(0070,0008)[0].(0070,0011)=300\\90`, '-i', `${ga}.(0070,0008)[0].(0070,0012)=LEFT`,
    '-i', `${ga}.(0070,0009)[0].(0070,0005)=PIXEL`, '-i', `${ga}.(0070,0009)[0].(0070,0020)=2`, '-i', `${ga}.(0070,0009)[0].(0070,0021)=5`,
    '-i', `${ga}.(0070,0009)[0].(0070,0022)=200\\200\\300\\200\\300\\300\\200\\300\\200\\200`, '-i', `${ga}.(0070,0009)[0].(0070,0023)=POLYLINE`, '-i', `${ga}.(0070,0009)[0].(0070,0024)=N`,
    '-i', `${ga}.(0070,0009)[1].(0070,0005)=PIXEL`, '-i', `${ga}.(0070,0009)[1].(0070,0020)=2`, '-i', `${ga}.(0070,0009)[1].(0070,0021)=2`,
    '-i', `${ga}.(0070,0009)[1].(0070,0022)=380\\380\\400\\380`, '-i', `${ga}.(0070,0009)[1].(0070,0023)=CIRCLE`, '-i', `${ga}.(0070,0009)[1].(0070,0024)=N`,
    '-i', '(0018,1600)=RECTANGULAR', '-i', '(0018,1602)=65', '-i', '(0018,1604)=448', '-i', '(0018,1606)=65', '-i', '(0018,1608)=448', '-i', '(0018,1622)=0',
    '-i', '(0018,A001)[0].(0008,0070)=Acme AI', '-i', '(0018,A001)[0].(0008,1090)=bleed-marker', '-i', '(0018,A001)[0].(0018,1020)=2.1',
    '-i', '(0018,A001)[0].(0040,A170)[0].(0008,0100)=Newcode1', '-i', '(0018,A001)[0].(0040,A170)[0].(0008,0102)=99IHE', '-i', '(0018,A001)[0].(0040,A170)[0].(0008,0104)=Processing Algorithm',
    out,
  ]);
  const check = execFileSync('dcmpschk', [out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (/error/i.test(check)) throw new Error(`dcmpschk: ${check}`);
  return out;
}

/** A Key Object Selection (TID 2010, "Of Interest") naming the 5th slice, written with dcmjs. */
function kos(work: string): string {
  const code = (v: string, s: string, m: string) => [{ CodeValue: v, CodingSchemeDesignator: s, CodeMeaning: m }];
  const ds = {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.59',
    SOPInstanceUID: uidFor('e2e-objects/kos'),
    StudyInstanceUID: STUDY,
    SeriesInstanceUID: uidFor('e2e-objects/kos-series'),
    Modality: 'KO',
    PatientName: 'Objects^E2E',
    PatientID: 'E2E15O',
    SeriesNumber: '90',
    InstanceNumber: '1',
    ContentDate: '20261207',
    ContentTime: '120000',
    ValueType: 'CONTAINER',
    ContinuityOfContent: 'SEPARATE',
    ConceptNameCodeSequence: code('113000', 'DCM', 'Of Interest'),
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '2010' }],
    CurrentRequestedProcedureEvidenceSequence: [{ StudyInstanceUID: STUDY, ReferencedSeriesSequence: [{ SeriesInstanceUID: CT_SERIES, ReferencedSOPSequence: [{ ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.2', ReferencedSOPInstanceUID: sopOf(4) }] }] }],
    ContentSequence: [
      { RelationshipType: 'CONTAINS', ValueType: 'TEXT', ConceptNameCodeSequence: code('113012', 'DCM', 'Key Object Description'), TextValue: 'Slice to compare' },
      { RelationshipType: 'CONTAINS', ValueType: 'IMAGE', ReferencedSOPSequence: [{ ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.2', ReferencedSOPInstanceUID: sopOf(4) }] },
    ],
  };
  const out = path.join(work, 'kos.dcm');
  fs.writeFileSync(out, writeDicomPart10(ds));
  return out;
}

const FOR_STUDY = uidFor('e2e-objects/for-study');

/**
 * The same CT slices and SEG as a study of their own, with the SEG's image references removed
 * (Referenced Series Sequence, every frame's Derivation Image Sequence): it names only the Frame of
 * Reference, and the viewer must place its frames by geometry.
 */
function forOnly(work: string): string[] {
  const dir = path.join(work, 'for-only');
  fs.mkdirSync(dir);
  const cts = ['01.dcm', '02.dcm', '03.dcm'].map((f, i) => {
    const dest = path.join(dir, f);
    fs.copyFileSync(path.join(CT3, f), dest);
    fs.chmodSync(dest, 0o644);
    execFileSync('dcmodify', ['-nb', '-i', `(0020,000D)=${FOR_STUDY}`, '-i', `(0020,000E)=${uidFor('e2e-objects/for-ct')}`, '-i', `(0008,0018)=${uidFor(`e2e-objects/for-ct/${i}`)}`, dest]);
    return dest;
  });
  const seg = path.join(dir, 'seg.dcm');
  fs.copyFileSync(path.join(PD, 'liver.dcm'), seg);
  fs.chmodSync(seg, 0o644);
  execFileSync('dcmodify', ['-nb', '-e', '(0008,1115)', '-e', '(5200,9230)[*].(0008,9124)', '-i', `(0020,000D)=${FOR_STUDY}`, '-i', `(0020,000E)=${uidFor('e2e-objects/for-seg')}`, '-i', `(0008,0018)=${uidFor('e2e-objects/for-seg/1')}`, seg]);
  return [...cts, seg];
}

function sr(work: string): string {
  const dest = path.join(work, 'sr.dcm');
  fs.copyFileSync(path.join(DICOM, 'pydicom', 'test_files', 'test-SR.dcm'), dest);
  fs.chmodSync(dest, 0o644);
  execFileSync('dcmodify', ['-nb', '-i', '(0010,0010)=Objects^E2E', '-i', '(0010,0020)=E2E15O', '-i', `(0020,000D)=${STUDY}`, '-i', `(0020,000E)=${uidFor('e2e-objects/sr-series')}`, '-i', `(0008,0018)=${uidFor('e2e-objects/sr')}`, dest]);
  return dest;
}

/** Opens a study; `anyOutcome`: the first series may be one the viewer cannot draw (the float map itself). */
async function open(page: Page, baseUrl: string, study: string, anyOutcome = false): Promise<void> {
  await page.goto(`${baseUrl}/viewer/${study}`);
  await page.waitForFunction((any) => window.__viewer?.getState().firstImageShown === true || (any && !!document.querySelector('[data-testid=objects-panel]')), anyOutcome, { timeout: 60_000 });
}

/** Pixels of the objects layer with alpha, and how many are close to a colour. */
async function layerPixels(page: Page, rgb?: readonly number[]): Promise<{ lit: number; near: number }> {
  return page.evaluate((rgb) => {
    const c = document.querySelector('[data-testid=objects-layer]') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let lit = 0, near = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] < 20) continue;
      lit++;
      if (rgb && Math.abs(d[i] - rgb[0]) <= 3 && Math.abs(d[i + 1] - rgb[1]) <= 3 && Math.abs(d[i + 2] - rgb[2]) <= 3) near++;
    }
    return { lit, near };
  }, rgb ? [...rgb] : null);
}

const objState = (page: Page) => page.evaluate(() => window.__objects!.getState() as { list: { kind: string; creator: { creator: string; name?: string } }[]; loaded: Record<string, string>; drawn: { segFrames: number; pmapFrames: number; prGraphics: number; texts: { text: string; x: number; y: number }[]; shutter: boolean } | null });
const settle = (page: Page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

describe('result objects (Chromium, real gateway + Orthanc)', () => {
  let stack: Stack;
  let browser: LaunchedBrowser;
  let page: Page;
  let work: string;
  let prevPreread: string | undefined;
  const pageErrors: string[] = [];
  /** Liver-coloured pixels of the SEG on the first slice, when it names its source images. */
  let referencedNear = 0;

  beforeAll(async () => {
    prevPreread = process.env.PREREAD;
    process.env.PREREAD = '0';
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-e2e-objects-'));
    const cts = ctSlices(work);
    const files = [
      path.join(PD, 'liver.dcm'), ...['01.dcm', '02.dcm', '03.dcm'].map((f) => path.join(CT3, f)),
      path.join(PD, 'parametric_map_float.dcm'), path.join(DICOM, 'pydicom', 'test_files', 'CT_small.dcm'),
      ...cts, gsps(work, cts[2]), kos(work), sr(work), ...forOnly(work),
    ];
    stack = await startE2EStack({ files });
    browser = await launchBrowser({ viewport: { width: 1280, height: 800 } });
    page = browser.page;
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await loginInBrowser(page, stack.baseUrl, 'rita');
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
    if (prevPreread === undefined) delete process.env.PREREAD;
    else process.env.PREREAD = prevPreread;
  });

  it('SEG: the segment is drawn in its colour on the slices it segments; off with its toggle and with the AI key', async () => {
    await open(page, stack.baseUrl, SEG_STUDY);
    await page.waitForFunction(() => (window.__objects?.getState().drawn as { segFrames?: number } | null)?.segFrames === 1, null, { timeout: 30_000 });
    const s = await objState(page);
    expect(s.list).toEqual([expect.objectContaining({ kind: 'seg', creator: expect.objectContaining({ creator: 'ai', name: 'SlicerEditor' }) })]);
    await expect(page.getByTestId('object-creator').textContent()).resolves.toMatch(/AI · SlicerEditor.*confidence not given/);
    // Opacity 0.5 over transparent: the canvas holds the segment colour at half alpha.
    const on = await layerPixels(page, LIVER);
    referencedNear = on.near;
    expect(on.near).toBeGreaterThan(2000);
    expect(on.near / on.lit).toBeGreaterThan(0.95);

    await page.getByTestId('seg-toggle-1').uncheck();
    await settle(page);
    expect((await layerPixels(page)).lit).toBe(0);
    await page.getByTestId('seg-toggle-1').check();
    await settle(page);
    expect((await layerPixels(page, LIVER)).near).toBe(on.near);

    // The one-key AI switch (o) hides AI marks and AI objects alike.
    await page.locator('[data-testid=viewport]').click({ position: { x: 20, y: 400 } });
    await page.keyboard.press('o');
    await settle(page);
    expect((await layerPixels(page)).lit).toBe(0);
    await page.keyboard.press('o');
    await settle(page);
    expect((await layerPixels(page, LIVER)).near).toBe(on.near);

    // AI disabled for the study by the radiologist: the server no longer lists the AI SEG, nothing is drawn.
    await page.getByTestId('ai-disable-study').click();
    await page.locator('[role=menuitem][data-reason=patient-declined]').click();
    await page.waitForFunction(() => (window.__objects!.getState().list as unknown[]).length === 0, null, { timeout: 15_000 });
    await settle(page);
    expect((await layerPixels(page)).lit).toBe(0);
    await page.getByTestId('ai-enable-study').click();
    await page.waitForFunction(() => (window.__objects?.getState().drawn as { segFrames?: number } | null)?.segFrames === 1, null, { timeout: 15_000 });
  }, 90_000);

  it('SEG that references only the Frame of Reference: placed by geometry, the same pixels as by reference', async () => {
    await open(page, stack.baseUrl, FOR_STUDY);
    await page.waitForFunction(() => (window.__objects?.getState().drawn as { segFrames?: number } | null)?.segFrames === 1, null, { timeout: 30_000 });
    const near = (await layerPixels(page, LIVER)).near;
    expect(referencedNear).toBeGreaterThan(2000);
    expect(Math.abs(near - referencedNear) / referencedNear).toBeLessThan(0.01);
  }, 60_000);

  it('parametric map: coloured on its CT, with a colour bar clear of the corner text; its own series is no greyscale stack', async () => {
    // The study opens on the CT (a first image, not "Image unreadable" of the float map), and once the
    // instances are known the map's own series (modality OT) leaves the series panel: it is a result object.
    await open(page, stack.baseUrl, PM_STUDY);
    const PM_SERIES = '1.2.826.0.1.3680043.10.511.3.22286884760418799419462960596442118';
    const CT_SERIES = '1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322';
    expect(await page.evaluate(() => window.__viewer!.getState().seriesUID)).toBe(CT_SERIES);
    expect(await page.evaluate(() => window.__viewer!.getState().imageError)).toBeNull();
    // Thumbnails known (the instance query answered): the map's series is gone from the panel, the CT stays.
    await page.waitForFunction(
      ([pm, ct]) => !!document.querySelector(`.series-item[data-series-uid="${ct}"] .thumb img`) && !document.querySelector(`.series-item[data-series-uid="${pm}"]`),
      [PM_SERIES, CT_SERIES],
      { timeout: 30_000 },
    );
    await page.waitForFunction(() => !!(window.__objects?.getState().loaded as Record<string, string>)?.['1.2.826.0.1.3680043.10.511.3.71040587180733182327492180132130832'], null, { timeout: 30_000 });
    await page.getByTestId('object-goto').click();
    await page.waitForFunction(() => ((window.__objects?.getState().drawn as { pmapFrames?: number } | null)?.pmapFrames ?? 0) > 0, null, { timeout: 30_000 });
    expect((await layerPixels(page)).lit).toBeGreaterThan(1000);
    const bar = await page.getByTestId('pmap-colourbar-scale').boundingBox();
    expect(bar && bar.height).toBeGreaterThan(100);
    // Every piece of text painted on the image: the four corners and the orientation markers.
    const corners = await page.evaluate(() => [...document.querySelectorAll('.overlay-text .tl, .overlay-text .tr canvas, .overlay-text .bl canvas, .overlay-text .br canvas, .overlay-text [class^=marker-] canvas')].map((e) => e.getBoundingClientRect().toJSON() as { x: number; y: number; width: number; height: number }));
    expect(corners.length).toBeGreaterThanOrEqual(8);
    // The bar is drawn on screen: its pixels run from red at the top to blue at the bottom.
    const shot = await page.screenshot({ clip: { x: bar!.x + 3, y: bar!.y + 3, width: 4, height: bar!.height - 6 } });
    const [top, bottom] = await page.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext('2d')!;
      g.drawImage(img, 0, 0);
      return [[...g.getImageData(1, 1, 1, 1).data], [...g.getImageData(1, img.height - 2, 1, 1).data]];
    }, shot.toString('base64'));
    expect(top[0]).toBeGreaterThan(180);
    expect(top[2]).toBeLessThan(80);
    expect(bottom[2]).toBeGreaterThan(120);
    expect(bottom[0]).toBeLessThan(80);
    const whole = await page.getByTestId('pmap-colourbar').boundingBox();
    for (const c of corners) {
      const overlap = whole!.x < c.x + c.width && c.x < whole!.x + whole!.width && whole!.y < c.y + c.height && c.y < whole!.y + whole!.height;
      expect(overlap, `colour bar ${JSON.stringify(whole)} over corner text ${JSON.stringify(c)}`).toBe(false);
    }
    // The threshold at the top of the range leaves (almost) nothing coloured.
    const before = (await layerPixels(page)).lit;
    await page.getByTestId('pmap-threshold').fill('0.99');
    await settle(page);
    expect((await layerPixels(page)).lit).toBeLessThan(before / 2);
  }, 90_000);

  it('GSPS: the text annotation is drawn on its image; applying it sets its VOI and shutter', async () => {
    await open(page, stack.baseUrl, STUDY);
    await page.waitForFunction(() => Object.values((window.__objects?.getState().loaded ?? {}) as Record<string, string>).includes('pr'), null, { timeout: 30_000 });
    const item = page.locator('[data-testid=object-item][data-kind=pr]');
    await expect(item.getByTestId('object-creator').textContent()).resolves.toMatch(/AI · bleed-marker 2\.1/);
    await item.getByTestId('object-goto').click();
    await page.waitForFunction(() => ((window.__objects?.getState().drawn as { texts?: unknown[] } | null)?.texts?.length ?? 0) > 0, null, { timeout: 30_000 });
    const s = await objState(page);
    expect(s.drawn!.texts[0].text).toBe('BLEED SUSPECTED');
    expect(s.drawn!.prGraphics).toBe(2);
    const t = s.drawn!.texts[0];
    const clip = { x: Math.round(t.x), y: Math.round(t.y), width: 100, height: 16 };
    const origin = await page.getByTestId('objects-layer').boundingBox();
    const region = { ...clip, x: clip.x + origin!.x, y: clip.y + origin!.y };
    const withText = await page.screenshot({ clip: region });
    await item.getByTestId('object-toggle').uncheck();
    await settle(page);
    const without = await page.screenshot({ clip: region });
    expect(Buffer.compare(withText, without)).not.toBe(0);
    await item.getByTestId('object-toggle').check();
    await settle(page);
    // An algorithm's presentation state goes with the one-key AI switch too.
    await page.locator('[data-testid=viewport]').click({ position: { x: 20, y: 400 } });
    await page.keyboard.press('o');
    await settle(page);
    expect(Buffer.compare(await page.screenshot({ clip: region }), without)).toBe(0);
    expect((await objState(page)).drawn!.texts).toEqual([]);
    await page.keyboard.press('o');
    await settle(page);

    await item.getByTestId('pr-apply').click();
    await page.waitForFunction(() => (window.__objects?.getState().drawn as { shutter?: boolean } | null)?.shutter === true, null, { timeout: 10_000 });
    const voi = await page.evaluate(() => window.__viewer!.getState().voi as { lower: number; upper: number });
    // Window centre 35, width 100 (PS3.3 C.11.2.1.2.1): −15 … 84.
    expect(voi.lower).toBeCloseTo(-15, 1);
    expect(voi.upper).toBeCloseTo(84, 1);
    // The shutter blanks the edge of the image (opaque black on the layer), not its centre.
    const edge = await page.evaluate(() => {
      const c = document.querySelector('[data-testid=objects-layer]') as HTMLCanvasElement;
      const g = c.getContext('2d')!;
      return { corner: [...g.getImageData(Math.round(c.width / 2), 2, 1, 1).data], centre: [...g.getImageData(Math.round(c.width / 2), Math.round(c.height / 2), 1, 1).data] };
    });
    expect(edge.corner).toEqual([0, 0, 0, 255]);
    expect(edge.centre[3]).toBe(0);
    await item.getByTestId('pr-apply').click();
  }, 90_000);

  it('KOS: clicking the key image lands the viewport on it', async () => {
    const key = page.getByTestId('ko-image');
    await expect(key.count()).resolves.toBe(1);
    const before = await page.evaluate(() => window.__viewer!.getState().activeSopInstanceUID as string);
    expect(before).not.toBe(sopOf(4));
    await key.click();
    await page.waitForFunction((sop) => window.__viewer!.getState().activeSopInstanceUID === sop, sopOf(4), { timeout: 15_000 });
    const st = await page.evaluate(() => window.__viewer!.getState() as { imageIndex: number; activeSopInstanceUID: string; imageCount: number; seriesUID: string });
    expect(st.imageCount).toBe(6);
    expect(st.seriesUID).toBe(CT_SERIES);
    expect(st.activeSopInstanceUID).toBe(sopOf(4));
  }, 60_000);

  it('SR that is not read as findings: a readable content tree, its maker named', async () => {
    const tree = page.locator('[data-testid=object-item][data-kind=sr] [data-testid=sr-tree]');
    await tree.waitFor({ timeout: 15_000 });
    const nodes = await tree.locator('[data-testid=sr-node]').count();
    expect(nodes).toBeGreaterThan(3);
    expect((await tree.textContent())?.length ?? 0).toBeGreaterThan(40);
    expect(pageErrors).toEqual([]);
  });
});
