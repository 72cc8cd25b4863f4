/**
 * The committed demo models, run through the Node runtime on their committed held-out generated
 * cases (rebuilt from the shared DICOM): they must meet the floors their manifests state, and
 * give nothing above threshold on lesion-free slices.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { DICOM, REPO_ROOT, headCtFiles } from '../../scripts/lib/demo-data.js';
import { loadHeldout, outcomes, reliability, score } from './heldout.js';
import { loadModel, runModelOnSlices, inferStudy, ModelError, readDicomSlice } from './runtime.js';
import { createModelRegistry } from './registry.js';
import { studyFacts } from '../../src/core/study/facts.js';
import { headerVariant, readDicomJson } from '../../test/dicom-json.js';
import os from 'node:os';

const MODELS = path.join(REPO_ROOT, 'models');

describe('model registry', () => {
  it('lists both demo models with valid manifests and their input domain', () => {
    const reg = createModelRegistry(MODELS);
    expect(reg.errors()).toEqual([]);
    expect(reg.all().map((m) => m.manifest.name)).toEqual(['chest-cr-nodule', 'head-ct-hyperdensity']);
    expect(reg.list().map((m) => m.manifest.name)).toEqual(['chest-cr-nodule', 'head-ct-hyperdensity']);
    for (const m of reg.all()) expect(m.manifest.regulatoryStatus).toMatch(/DEMONSTRATION ONLY/);
    expect(reg.get('head-ct-hyperdensity')!.manifest.domain).toMatchObject({ imageType: ['ORIGINAL', 'PRIMARY'], sliceThicknessMm: { min: 2.5, max: 7 }, pixelSpacingMm: { min: 0.4, max: 0.6 } });
  });

  it('is re-read when a manifest or model file changes, added or removed; invalid manifests are reported', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-registry-'));
    try {
      fs.cpSync(path.join(MODELS, 'head-ct-hyperdensity', 'manifest.json'), path.join(root, 'head-ct-hyperdensity', 'manifest.json'), { recursive: true });
      const reg = createModelRegistry(root);
      expect(reg.all().map((m) => [m.manifest.name, m.hasFile])).toEqual([['head-ct-hyperdensity', false]]);
      expect(reg.list()).toEqual([]); // no model file: never routed to
      const first = reg.all();
      expect(reg.all()).toBe(first); // unchanged folder: not parsed again
      fs.writeFileSync(path.join(root, 'head-ct-hyperdensity', 'model.onnx'), Buffer.alloc(8));
      expect(reg.list().map((m) => m.manifest.name)).toEqual(['head-ct-hyperdensity']);
      const m = JSON.parse(fs.readFileSync(path.join(root, 'head-ct-hyperdensity', 'manifest.json'), 'utf8'));
      fs.writeFileSync(path.join(root, 'head-ct-hyperdensity', 'manifest.json'), JSON.stringify({ ...m, version: '1.0.1' }));
      expect(reg.get('head-ct-hyperdensity')!.manifest.version).toBe('1.0.1');
      fs.mkdirSync(path.join(root, 'broken'));
      fs.writeFileSync(path.join(root, 'broken', 'manifest.json'), '{"schemaVersion": 1}');
      expect(reg.all().map((x) => x.manifest.name)).toEqual(['head-ct-hyperdensity']);
      expect(reg.errors().join('\n')).toMatch(/broken.manifest\.json: /);
      fs.rmSync(path.join(root, 'head-ct-hyperdensity'), { recursive: true });
      expect(reg.all()).toEqual([]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('watching (the gateway\'s): a model installed, changed or removed is seen from the file events, with no periodic check', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-registry-watch-'));
    // A periodic check far beyond the test: only the events can make the registry read the folder again.
    const reg = createModelRegistry(root, { watch: true, checkMs: 600_000 });
    const until = async (what: string, ok: () => boolean) => {
      for (const t = Date.now(); !ok(); await new Promise((r) => setTimeout(r, 20))) if (Date.now() - t > 3000) throw new Error(`not seen within 3 s: ${what}`);
    };
    try {
      expect(reg.all()).toEqual([]);
      const empty = reg.all();
      expect(reg.all()).toBe(empty);
      // Installed the way an admin does: the folder first, the files after (the new folder must be watched too).
      const dir = path.join(root, 'head-ct-hyperdensity');
      fs.mkdirSync(dir);
      // The folder's event is taken (nothing to list yet) before its files come: they must be seen from the new folder's own watch.
      await new Promise((r) => setTimeout(r, 200));
      expect(reg.all()).toEqual([]);
      fs.copyFileSync(path.join(MODELS, 'head-ct-hyperdensity', 'manifest.json'), path.join(dir, 'manifest.json'));
      await until('the manifest', () => reg.all().length === 1);
      expect(reg.list()).toEqual([]);
      fs.writeFileSync(path.join(dir, 'model.onnx'), Buffer.alloc(8));
      await until('the model file', () => reg.list().length === 1);
      const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ ...m, version: '1.0.1' }));
      await until('the changed manifest', () => reg.get('head-ct-hyperdensity')?.manifest.version === '1.0.1');
      fs.rmSync(dir, { recursive: true });
      await until('the removal', () => reg.all().length === 0);
    } finally {
      reg.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

for (const name of ['head-ct-hyperdensity', 'chest-cr-nodule']) {
  describe(`${name} on its held-out generated cases`, () => {
    const dir = path.join(MODELS, name);
    it('meets the recall and false-positive floors its manifest states', async () => {
      const model = await loadModel(dir);
      const { cases, lesionFree } = loadHeldout(dir, DICOM);
      expect(cases.length).toBeGreaterThan(20);
      const { results } = await runModelOnSlices(model, [...cases.map((c) => c.slice), ...lesionFree]);
      const perCase = results.map((r, i) => ({ predicted: r.detections.map((d) => d.box), truth: i < cases.length ? cases[i].lesions : [] }));
      const s = score(perCase);
      const v = model.manifest.validation;
      expect(s.lesions).toBe(v.lesions);
      expect(s.sensitivity).toBeGreaterThanOrEqual(v.floors.sensitivity);
      expect(s.falsePositivesPerSlice).toBeLessThanOrEqual(v.floors.maxFalsePositivesPerSlice);
      // The TypeScript pipeline reproduces the figures the Python training pipeline measured.
      expect(Math.abs(s.sensitivity - v.sensitivity)).toBeLessThanOrEqual(0.03);
      expect(Math.abs(s.falsePositivesPerSlice - v.falsePositivesPerSlice)).toBeLessThanOrEqual(0.03);
    });

    it('a lesion-free slice gives no finding above threshold', async () => {
      const model = await loadModel(dir);
      const { lesionFree } = loadHeldout(dir, DICOM);
      // Head CT: all five held-out slices, 13.dcm and 17.dcm with their real 155-168 HU calcifications included.
      expect(lesionFree.length).toBeGreaterThan(0);
      const { results } = await runModelOnSlices(model, lesionFree);
      for (const r of results) expect(r.detections).toEqual([]);
    });
  });
}

describe('head-ct-hyperdensity does not cry wolf', () => {
  const dir = path.join(MODELS, 'head-ct-hyperdensity');

  it("the real, unmodified 28-slice normal head CT gives no finding, through the pre-read's own inferStudy", async () => {
    const model = await loadModel(dir);
    const slices = headCtFiles().map((f) => readDicomSlice(fs.readFileSync(f)));
    expect(slices.length).toBe(28);
    // Each slice carries THE study facts of its header: inside the model's indication and input domain.
    expect(slices[0].facts).toEqual(studyFacts(readDicomJson(headCtFiles()[0])));
    expect(slices[0].facts).toMatchObject({ modality: 'CT', bodyPart: 'HEAD', derived: false, sliceThickness: 4 });
    const { results } = await runModelOnSlices(model, slices);
    const boxes = results.reduce((n, r) => n + r.detections.length, 0);
    expect(boxes).toBe(0);
    const v = model.manifest.validation;
    expect(v.falsePositivesPerStudy).toMatchObject({ normalStudy: 0, normalStudySlices: 28 });
    expect(boxes).toBeLessThanOrEqual(v.floors.maxFalsePositivesPerStudy!);
    // The same pixels through the pre-read's entry point (eligibility checked on the real facts): no finding.
    const r = await inferStudy({ manifestDir: dir, studyInstanceUID: slices[0].studyInstanceUID, slices, facts: slices[0].facts });
    expect(r.findings).toEqual([]);
  });

  it('a dense focus above 100 HU (calcification-like) painted into brain on a held-out slice is not flagged', async () => {
    const model = await loadModel(dir);
    const { cases, lesionFree } = loadHeldout(dir, DICOM);
    // Where the held-out lesions were (brain parenchyma), on the original slice: a Gaussian focus
    // peaking at 150-390 HU (pineal, choroid plexus or falx calcification on a 4 mm slice).
    const painted = cases.slice(0, 12).map((c, k) => {
      const orig = lesionFree.find((s) => s.sopInstanceUID === c.slice.sopInstanceUID)!;
      const px = Int16Array.from(orig.pixelData as Int16Array);
      const slope = orig.slope ?? 1, intercept = orig.intercept ?? 0;
      const b = c.lesions[0];
      const cx = b.x + b.width / 2, cy = b.y + b.height / 2;
      const peak = 150 + (k % 4) * 80, sigma = 1.2 + (k % 3) * 0.8;
      for (let y = Math.floor(cy - 4 * sigma); y <= cy + 4 * sigma; y++) {
        for (let x = Math.floor(cx - 4 * sigma); x <= cx + 4 * sigma; x++) {
          const a = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma * sigma));
          const i = y * orig.columns + x;
          px[i] = Math.round(((px[i] * slope + intercept) * (1 - a) + peak * a - intercept) / slope);
        }
      }
      return { ...orig, pixelData: px };
    });
    const { results } = await runModelOnSlices(model, painted);
    expect(results.flatMap((r) => r.detections)).toEqual([]);
  });

  it('its scores are calibrated as the manifest states (reliability curve and ECE on the held-out cases, recomputed here)', async () => {
    const model = await loadModel(dir);
    const cal = model.manifest.validation.calibration!;
    expect(cal.expectedCalibrationError).toBeLessThan(0.15);
    const { cases, lesionFree } = loadHeldout(dir, DICOM);
    // Candidates as the training script counts them: every component above 0.05.
    const low = { ...model, manifest: { ...model.manifest, output: { ...model.manifest.output, classes: model.manifest.output.classes.map((c) => ({ ...c, threshold: 0.05 })) } } };
    const { results } = await runModelOnSlices(low, [...lesionFree, ...cases.map((c) => c.slice)]);
    const truth = [...lesionFree.map(() => []), ...cases.map((c) => c.lesions)];
    const r = reliability(outcomes(results.map((x, i) => ({ predicted: x.detections.map((d) => ({ ...d.box, score: d.score })), truth: truth[i] }))));
    // Float32 WebAssembly against torch: a component right at 0.05 may come and go.
    expect(Math.abs(r.bins.reduce((a, b) => a + b.count, 0) - cal.bins.reduce((a, b) => a + b.count, 0))).toBeLessThanOrEqual(2);
    expect(Math.abs(r.ece - cal.expectedCalibrationError)).toBeLessThanOrEqual(0.02);
    // The operating point is the one the manifest says it chose, and why.
    expect(model.manifest.validation.operatingPoint).toMatchObject({ threshold: model.manifest.output.classes[0].threshold, minAreaCells: model.manifest.output.decoding.minAreaCells });
    expect(model.manifest.validation.operatingPoint!.reason).toMatch(/validation/);
  });
});

describe('inferStudy', () => {
  it('returns Findings with model, provider and timings, and refuses a series outside the eligibility rule', async () => {
    const dir = path.join(MODELS, 'head-ct-hyperdensity');
    const { cases } = loadHeldout(dir, DICOM);
    const withLesion = cases.find((c) => c.lesions.length === 1)!;
    const r = await inferStudy({ manifestDir: dir, studyInstanceUID: withLesion.slice.studyInstanceUID, slices: [withLesion.slice] });
    expect(r.provider).toBe('wasm');
    expect(r.timings.slices).toBe(1);
    expect(r.timings.inferenceMs).toBeGreaterThan(0);
    for (const f of r.findings) {
      expect(f.model).toMatchObject({ name: 'head-ct-hyperdensity', version: r.model.version, executionProvider: 'wasm' });
      expect(r.model.version).toBe('2.0.0');
      expect(f.model.timingsMs?.inferenceMs).toBeGreaterThan(0);
      expect(f.source).toBe('preread');
    }
    // THE facts of real header variants (dcmodify): a child, and a perfusion map.
    const child = headerVariant([headCtFiles()[9]], { '(0010,1010)': '009Y' });
    const map = headerVariant([headCtFiles()[9]], { '(0008,0008)': 'DERIVED\\SECONDARY\\PERFUSION' });
    try {
      await expect(
        inferStudy({ manifestDir: dir, studyInstanceUID: '1.2.3', slices: [withLesion.slice], facts: studyFacts(readDicomJson(child.files[0])) }),
      ).rejects.toThrow(new ModelError('outside-indication', 'outside indication: age 9 < 18'));
      await expect(
        inferStudy({ manifestDir: dir, studyInstanceUID: '1.2.3', slices: [withLesion.slice], facts: studyFacts(readDicomJson(map.files[0])) }),
      ).rejects.toThrow(new ModelError('outside-indication', 'outside input domain: image type DERIVED\\SECONDARY\\PERFUSION is not ORIGINAL\\PRIMARY'));
    } finally {
      child.cleanup();
      map.cleanup();
    }
  });
});
