/** A valid manifest for unit tests (the real ones live in models/<name>/manifest.json). */
import type { ModelManifestInput } from './manifest.js';

export function sampleManifest(): ModelManifestInput {
  return {
    schemaVersion: 1,
    name: 'test-model',
    version: '1.0.0',
    manufacturer: 'Reading Station Demo',
    licence: 'BSD-2-Clause',
    intendedUse: 'test',
    regulatoryStatus: 'Demonstration only; not a cleared medical device.',
    training: 'none',
    indication: { modalities: ['CT'], bodyParts: ['HEAD'], ageYears: { min: 18, max: 120 }, contraindications: ['post-operative'] },
    input: { name: 'input', width: 8, height: 8, channels: 1, normalisation: { kind: 'window', center: 40, width: 80 } },
    output: {
      name: 'heatmap',
      width: 4,
      height: 4,
      activation: 'probability',
      decoding: { kind: 'heatmap-boxes', connectivity: 8, minAreaCells: 1, nmsIou: 0.3 },
      classes: [
        { index: 0, code: { value: '1386000', scheme: 'SCT', meaning: 'Intracranial hemorrhage' }, label: 'Hyperdensity', severity: 'critical', threshold: 0.5 },
      ],
    },
    validation: {
      data: 'none',
      method: 'none',
      cases: 0,
      lesions: 0,
      lesionFreeSlices: 0,
      sensitivity: 0,
      falsePositivesPerSlice: 0,
      floors: { sensitivity: 0, maxFalsePositivesPerSlice: 0 },
    },
    files: { model: 'model.onnx' },
  };
}
