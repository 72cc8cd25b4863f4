/** Test-only helpers for the trust tests: study copies with new UIDs (dcmodify), findings, a manifest. */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { FindingInput } from '../../src/core/findings/finding.js';
import type { ModelManifestInput } from '../../src/core/ai/manifest.js';

/**
 * Copies real slices into `dir` with a new study UID and the given header edits (DCMTK dcmodify),
 * e.g. PatientAge 009Y for a paediatric study. New SOP/series UIDs so Orthanc stores them apart.
 */
export function copyStudy(files: string[], dir: string, studyUID: string, edits: Record<string, string>): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  const seriesUID = `${studyUID}.1`;
  files.forEach((f, i) => {
    const target = path.join(dir, `${i + 1}.dcm`);
    fs.copyFileSync(f, target);
    const args = ['-nb', '-i', `(0020,000d)=${studyUID}`, '-i', `(0020,000e)=${seriesUID}`, '-i', `(0008,0018)=${seriesUID}.${i + 1}`];
    for (const [tag, v] of Object.entries(edits)) args.push('-i', `${tag}=${v}`);
    execFileSync('dcmodify', [...args, target], { stdio: 'pipe' });
    out.push(target);
  });
  return out;
}

let n = 0;
export function testFinding(study: string, over: Partial<FindingInput> = {}): FindingInput {
  n++;
  return {
    id: `trust-test-${n}-${Math.random().toString(36).slice(2, 8)}`,
    studyInstanceUID: study,
    type: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' },
    label: 'Intracranial hemorrhage',
    confidence: 0.95,
    severity: 'critical',
    regions: [{ image: { seriesInstanceUID: '1.2.826.0.1.3680043.9.7777.1', sopInstanceUID: '1.2.826.0.1.3680043.9.7777.1.1' }, box: { x: 100, y: 100, width: 20, height: 20 } }],
    model: { name: 'adult-head-ct', version: '1.0.0' },
    source: 'preread',
    ...over,
  };
}

/** A valid manifest of an adult-only head CT model (the indication is the point; the model file is never loaded). */
export function adultHeadCtManifest(): ModelManifestInput {
  return {
    schemaVersion: 1,
    name: 'adult-head-ct',
    version: '1.0.0',
    manufacturer: 'Reading Station Demo (test fixture)',
    licence: 'BSD-2-Clause',
    intendedUse: 'Test fixture for the indication guard: adults only',
    regulatoryStatus: 'Not a medical device; test fixture',
    training: 'none (never run)',
    indication: { modalities: ['CT'], bodyParts: ['HEAD'], ageYears: { min: 18, max: 120 }, contraindications: [] },
    input: { name: 'input', width: 64, height: 64, channels: 1, normalisation: { kind: 'window', center: 40, width: 80 } },
    output: {
      name: 'output',
      width: 64,
      height: 64,
      activation: 'probability',
      decoding: { kind: 'heatmap-boxes' },
      classes: [{ index: 0, code: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' }, label: 'ICH', severity: 'critical', threshold: 0.5 }],
    },
    validation: { data: 'none', method: 'none', cases: 0, lesions: 0, lesionFreeSlices: 0, sensitivity: 0, falsePositivesPerSlice: 0, floors: { sensitivity: 0, maxFalsePositivesPerSlice: 0 } },
    files: { model: 'model.onnx' },
  };
}
