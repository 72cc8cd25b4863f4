/**
 * THE eligibility rule with the committed manifests (models/<name>/manifest.json) on real DICOM
 * headers (../shared/data) and dcmodify variants of them: indication, input domain, order, the
 * study-level choice, and the browser's combined decision with the server's verdict.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { CHEST_CR, REPO_ROOT, headCtFiles, mrSeriesFiles } from '../../../scripts/lib/demo-data.js';
import { headerVariant, readDicomJson } from '../../../test/dicom-json.js';
import { parseManifest, type ModelManifest } from './manifest.js';
import { decideRun, eligibility, studyEligibility, type ServerModelVerdict } from './eligibility.js';
import { studyFacts, type SeriesFacts } from '../study/facts.js';

const manifest = (name: string): ModelManifest => {
  const r = parseManifest(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'models', name, 'manifest.json'), 'utf8')));
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.value;
};
const HEAD = manifest('head-ct-hyperdensity');
const CHEST = manifest('chest-cr-nodule');
const MODELS = [CHEST, HEAD];

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));
const variant = (files: string[], edits: Record<string, string | null>): SeriesFacts => {
  const v = headerVariant(files, edits);
  cleanups.push(v.cleanup);
  return studyFacts(v.files.map(readDicomJson));
};
const ct = headCtFiles().slice(8, 11);
const adultHead = variant(ct, { '(0010,1010)': '045Y' });
const childHead = variant(ct, { '(0010,1010)': '009Y' });
const perfusion = variant(ct, { '(0010,1010)': '045Y', '(0008,0008)': 'DERIVED\\SECONDARY\\PERFUSION' });
const thick = variant(ct, { '(0018,0050)': '10' });
const noImageType = variant(ct, { '(0008,0008)': null });
const realHead = studyFacts(ct.map(readDicomJson));
const chestCr = studyFacts(readDicomJson(CHEST_CR));
const mr = studyFacts(mrSeriesFiles().map(readDicomJson));

describe('eligibility (committed manifests, real headers)', () => {
  it('the real head CT (no age in its header) and an adult copy are inside the head CT model', () => {
    expect(eligibility(HEAD, realHead)).toEqual({ ok: true });
    expect(eligibility(HEAD, adultHead)).toEqual({ ok: true });
    expect(eligibility(CHEST, chestCr)).toEqual({ ok: true });
  });

  it('says why, for each check', () => {
    expect(eligibility(HEAD, childHead)).toEqual({ ok: false, stage: 'age', reason: 'outside indication: age 9 < 18' });
    expect(eligibility(HEAD, mr)).toEqual({ ok: false, stage: 'modality', reason: 'outside indication: modality MR not in CT' });
    expect(eligibility(CHEST, adultHead)).toEqual({ ok: false, stage: 'modality', reason: 'outside indication: modality CT not in CR/DX' });
    expect(eligibility(HEAD, { ...adultHead, bodyPart: 'CHEST' })).toEqual({ ok: false, stage: 'body-part', reason: 'outside indication: body part CHEST not in HEAD' });
    expect(eligibility(HEAD, { ...adultHead, bodyPart: 'BRAIN' })).toEqual({ ok: true });
  });

  it('a perfusion map (DERIVED\\SECONDARY) is outside the input domain', () => {
    expect(eligibility(HEAD, perfusion)).toEqual({ ok: false, stage: 'domain', reason: 'outside input domain: image type DERIVED\\SECONDARY\\PERFUSION is not ORIGINAL\\PRIMARY' });
  });

  it('slice thickness and pixel spacing outside the declared range, or unknown, are outside', () => {
    expect(eligibility(HEAD, thick)).toEqual({ ok: false, stage: 'domain', reason: 'outside input domain: slice thickness 10 mm not in 2.5-7 mm' });
    expect(eligibility(HEAD, { ...adultHead, sliceThickness: null })).toMatchObject({ ok: false, reason: 'outside input domain: slice thickness unknown (the model takes 2.5-7 mm)' });
    expect(eligibility(HEAD, { ...adultHead, pixelSpacing: [0.9, 0.9] })).toMatchObject({ ok: false, reason: 'outside input domain: pixel spacing 0.9 mm not in 0.4-0.6 mm' });
    expect(eligibility(HEAD, noImageType)).toMatchObject({ ok: false, stage: 'domain', reason: 'outside input domain: image type unknown (the model takes ORIGINAL\\PRIMARY images)' });
  });

  it('a contraindication named in the order refuses', () => {
    expect(eligibility(HEAD, { ...adultHead, clinicalIndication: 'Follow-up, Post-operative head, r/o rebleed' })).toEqual({ ok: false, stage: 'order', reason: 'contraindicated by order: post-operative head' });
  });
});

describe('studyEligibility (the pre-read, the guard and ai-status)', () => {
  const big = (f: SeriesFacts, n: number, uid: string): SeriesFacts => ({ ...f, instanceCount: n, seriesInstanceUID: uid });
  it('runs on the original series of a study that also holds a perfusion map; judged alone, the map is refused', () => {
    const study = { series: [big(perfusion, 30, 'p'), big(adultHead, 3, 'o')] };
    expect(studyEligibility(HEAD, study)).toMatchObject({ ok: true, reason: 'indicated: CT HEAD, age 45', series: { seriesInstanceUID: 'o' } });
    expect(studyEligibility(HEAD, study, 'p')).toMatchObject({ ok: false, reason: 'outside input domain: image type DERIVED\\SECONDARY\\PERFUSION is not ORIGINAL\\PRIMARY' });
    expect(studyEligibility(HEAD, study, 'nope')).toMatchObject({ ok: false, reason: 'series nope is not an image series of this study' });
  });
  it('gives the refusal that got furthest (a map of the head: image type, not modality), and refuses unknown studies', () => {
    expect(studyEligibility(HEAD, { series: [big(mr, 10, 'm'), big(perfusion, 3, 'p')] })).toMatchObject({ ok: false, reason: expect.stringMatching(/^outside input domain: image type/) });
    expect(studyEligibility(HEAD, { series: [big(mr, 10, 'm'), big({ ...adultHead, bodyPart: 'CHEST' }, 3, 'c')] }).reason).toMatch(/body part CHEST/);
    expect(studyEligibility(HEAD, null)).toEqual({ ok: false, reason: 'outside indication: study modality unknown' });
    expect(studyEligibility(HEAD, { series: [] })).toEqual({ ok: false, reason: 'outside indication: study modality unknown' });
  });
});

describe("decideRun (the browser's decision: its own eligibility and the server's verdict)", () => {
  const shown = (m: ModelManifest, facts: SeriesFacts): ServerModelVerdict => {
    const r = eligibility(m, facts);
    return { name: m.name, version: m.version, eligible: r.ok, eligibilityReason: r.ok ? null : r.reason, state: r.ok ? 'shown' : 'outside-indication', reason: r.ok ? null : r.reason };
  };
  it('runs the head model on an adult head CT when the server agrees', () => {
    expect(decideRun(MODELS, adultHead, MODELS.map((m) => shown(m, adultHead)))).toEqual({ run: HEAD });
  });
  it('never runs on a perfusion map, and gives the same reason the server gives', () => {
    const d = decideRun(MODELS, perfusion, MODELS.map((m) => shown(m, perfusion)));
    expect(d).toEqual({ run: null, reason: 'outside input domain: image type DERIVED\\SECONDARY\\PERFUSION is not ORIGINAL\\PRIMARY', model: 'head-ct-hyperdensity' });
    expect(d.run === null && d.reason).toBe(shown(HEAD, perfusion).eligibilityReason);
  });
  it('the server refusing wins: its eligibility (e.g. the order it knows), AI disabled, silent or off', () => {
    const srv = MODELS.map((m) => shown(m, adultHead));
    const byOrder = srv.map((v) => (v.name === HEAD.name ? { ...v, eligible: false, eligibilityReason: 'contraindicated by order: post-operative head', state: 'outside-indication' } : v));
    expect(decideRun(MODELS, adultHead, byOrder)).toMatchObject({ run: null, reason: 'contraindicated by order: post-operative head', model: HEAD.name });
    const disabled = srv.map((v) => ({ ...v, state: 'disabled', reason: 'AI disabled for this study by rita: Research protocol' }));
    expect(decideRun(MODELS, adultHead, disabled)).toMatchObject({ run: null, reason: 'AI disabled for this study by rita: Research protocol' });
    const silent = srv.map((v) => (v.name === HEAD.name ? { ...v, state: 'silent', reason: 'model head-ct-hyperdensity runs in silent mode' } : v));
    expect(decideRun(MODELS, adultHead, silent)).toMatchObject({ run: null, reason: 'model head-ct-hyperdensity runs in silent mode' });
    expect(decideRun(MODELS, adultHead, [])).toMatchObject({ run: null, reason: 'model head-ct-hyperdensity is not installed on the server' });
    expect(decideRun(MODELS, adultHead, srv.map((v) => ({ ...v, version: '0.9' })))).toMatchObject({ run: null, reason: `model head-ct-hyperdensity ${HEAD.version} is not the server's version 0.9` });
  });
  it('the local refusal stands even if a server said yes', () => {
    const yes = MODELS.map((m) => ({ name: m.name, version: m.version, eligible: true, state: 'shown' }));
    expect(decideRun(MODELS, childHead, yes)).toMatchObject({ run: null, reason: 'outside indication: age 9 < 18', model: HEAD.name });
    expect(decideRun(MODELS, mr, yes)).toMatchObject({ run: null, reason: 'outside indication: modality MR not in CR/DX' });
  });
});
