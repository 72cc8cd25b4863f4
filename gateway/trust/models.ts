/** The installed models' manifests (models/<name>/manifest.json), read fresh so a new model needs no restart. */
import fs from 'node:fs';
import path from 'node:path';
import { parseManifest, indicationCheck, type ModelManifest, type IndicationResult } from '../../src/core/ai/manifest.js';
import type { StudyFacts } from '../../src/core/policy/study.js';

export function loadManifests(modelsDir: string): ModelManifest[] {
  let dirs: string[] = [];
  try {
    dirs = fs.readdirSync(modelsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return [];
  }
  const out: ModelManifest[] = [];
  for (const d of dirs) {
    const file = path.join(modelsDir, d, 'manifest.json');
    if (!fs.existsSync(file)) continue;
    try {
      const p = parseManifest(JSON.parse(fs.readFileSync(file, 'utf8')));
      if (p.ok) out.push(p.value);
    } catch {
      // An unreadable manifest is not a model: it is skipped, as the registry does.
    }
  }
  return out;
}

/** The server's indication guard: unknown modality means the study cannot be matched, so the model does not apply. */
export function checkIndication(manifest: ModelManifest, facts: StudyFacts | null): IndicationResult {
  if (!facts?.modality) return { ok: false, reason: 'outside indication: study modality unknown' };
  return indicationCheck(manifest, { modality: facts.modality, bodyPart: facts.bodyPart, patientAgeYears: facts.patientAgeYears });
}
