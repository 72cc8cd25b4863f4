/**
 * The committed demo models, run through the Node runtime on their committed held-out generated
 * cases (rebuilt from the shared DICOM): they must meet the floors their manifests state, and
 * give nothing above threshold on lesion-free slices.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { DICOM, REPO_ROOT, headCtFiles } from '../../scripts/lib/demo-data.js';
import { loadHeldout, score } from './heldout.js';
import { loadModel, runModelOnSlices, inferStudy, ModelError, readDicomSlice } from './runtime.js';
import { createModelRegistry } from './registry.js';
import { studyFacts } from '../../src/core/study/facts.js';
import { headerVariant, readDicomJson } from '../../test/dicom-json.js';
import os from 'node:os';

const MODELS = path.join(REPO_ROOT, 'models');
// Held-out slices without dense foci (13 and 17 each hold a calcification-like focus the model marks; the manifest says so).
const CLEAN_HELDOUT = ['GE/09.dcm', 'GE/21.dcm', 'GE/25.dcm'];

describe('model registry', () => {
  it('lists both demo models with valid manifests and their input domain', () => {
    const reg = createModelRegistry(MODELS);
    expect(reg.errors()).toEqual([]);
    expect(reg.all().map((m) => m.manifest.name)).toEqual(['chest-cr-nodule', 'head-ct-hyperdensity']);
    expect(reg.list().map((m) => m.manifest.name)).toEqual(['chest-cr-nodule', 'head-ct-hyperdensity']);
    for (const m of reg.all()) expect(m.manifest.regulatoryStatus).toMatch(/DEMONSTRATION ONLY/);
    expect(reg.get('head-ct-hyperdensity')!.manifest.domain).toEqual({ imageType: ['ORIGINAL', 'PRIMARY'], sliceThicknessMm: { min: 2.5, max: 5 }, pixelSpacingMm: { min: 0.4, max: 0.6 } });
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
      // Head CT: the held-out slices without dense foci. The manifest states the false positives the
      // model does make on normal anatomy (two calcification-like foci); those count in the floor test above.
      const clean = lesionFree.filter((s) => (name !== 'head-ct-hyperdensity' || CLEAN_HELDOUT.some((f) => s.file.endsWith(f))));
      expect(clean.length).toBeGreaterThan(0);
      const { results } = await runModelOnSlices(model, clean);
      for (const r of results) expect(r.detections).toEqual([]);
    });
  });
}

describe('head-ct-hyperdensity on the real, unmodified 28-slice series', () => {
  it('marks at most two boxes of normal anatomy (skull base and vertex partial volume included)', async () => {
    const model = await loadModel(path.join(MODELS, 'head-ct-hyperdensity'));
    const slices = headCtFiles().map((f) => readDicomSlice(fs.readFileSync(f)));
    expect(slices.length).toBe(28);
    // Each slice carries THE study facts of its header: inside the model's indication and input domain.
    expect(slices[0].facts).toEqual(studyFacts(readDicomJson(headCtFiles()[0])));
    expect(slices[0].facts).toMatchObject({ modality: 'CT', bodyPart: 'HEAD', derived: false, sliceThickness: 4 });
    const { results } = await runModelOnSlices(model, slices);
    const boxes = results.reduce((n, r) => n + r.detections.length, 0);
    expect(boxes).toBeLessThanOrEqual(2);
    // The manifest states the same count.
    expect(model.manifest.validation.data).toContain(`it marks ${boxes} boxes of normal anatomy`);
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
      expect(f.model).toMatchObject({ name: 'head-ct-hyperdensity', version: '1.0.0', executionProvider: 'wasm' });
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
