/** Installed models (models/<name>/manifest.json, the AI runtime's manifest) and routing against their indication. */
import fs from 'node:fs';
import path from 'node:path';
import { indicationCheck, parseManifest, type ModelManifest } from '../../src/core/ai/manifest.js';
import { thresholdKey } from '../../src/core/triage/triage.js';

export interface InstalledModel {
  manifest: ModelManifest;
  dir: string;
}

export interface ModelCatalog {
  list(): InstalledModel[];
  /** Per-model and per-class thresholds for prioritise(). */
  thresholds(): Record<string, number>;
}

/** Reads the manifests once per call (cheap: a few small files) so a model installed while running is picked up. */
export function fileCatalog(modelsDir: string, log: (msg: string) => void = () => {}): ModelCatalog {
  const list = (): InstalledModel[] => {
    if (!fs.existsSync(modelsDir)) return [];
    const out: InstalledModel[] = [];
    for (const name of fs.readdirSync(modelsDir).sort()) {
      const file = path.join(modelsDir, name, 'manifest.json');
      if (!fs.existsSync(file)) continue;
      let json: unknown;
      try {
        json = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (e) {
        log(`preread: ${file} is not JSON: ${(e as Error).message}`);
        continue;
      }
      const m = parseManifest(json);
      if (!m.ok) {
        log(`preread: ${file} rejected: ${m.errors.join('; ')}`);
        continue;
      }
      if (!fs.existsSync(path.join(modelsDir, name, m.value.files.model))) continue;
      out.push({ manifest: m.value, dir: path.resolve(modelsDir, name) });
    }
    return out;
  };
  return {
    list,
    thresholds() {
      const t: Record<string, number> = {};
      for (const { manifest } of list()) for (const c of manifest.output.classes) t[thresholdKey(manifest.name, c.code)] = c.threshold;
      return t;
    },
  };
}

export interface RoutingDecision {
  model: string;
  version: string;
  decision: 'run' | 'skip';
  reason: string;
  /** The Orthanc series the model runs on (run only). */
  seriesId?: string;
  seriesInstanceUID?: string;
}

export interface StudyForRouting {
  imageSeries: { id: string; seriesInstanceUID: string; modality: string; bodyPart: string; instanceCount: number }[];
  bodyPart: string | null;
  ageYears: number | null;
  /** From the HL7 order, where one is known for the accession number. */
  clinicalIndication: string | null;
}

/**
 * For each model, the largest image series that fits its indication; when none fits, the reason
 * from the largest series of a matching modality (or the largest series at all).
 * A contraindication named in the order's clinical indication skips the model too.
 */
export function route(models: InstalledModel[], study: StudyForRouting): RoutingDecision[] {
  return models.map(({ manifest }) => {
    const base = { model: manifest.name, version: manifest.version };
    if (!study.imageSeries.length) return { ...base, decision: 'skip', reason: 'no image series in study' };
    let reason: string | null = null;
    let reasonFromMatchingModality = false;
    for (const s of study.imageSeries) {
      const r = indicationCheck(manifest, { modality: s.modality, bodyPart: s.bodyPart || study.bodyPart, patientAgeYears: study.ageYears === null ? null : Math.floor(study.ageYears) });
      if (r.ok) {
        const ci = study.clinicalIndication?.toLowerCase() ?? '';
        const contra = manifest.indication.contraindications.find((c) => ci.includes(c.toLowerCase()));
        if (contra) return { ...base, decision: 'skip', reason: `contraindicated by order: ${contra}` };
        return { ...base, decision: 'run', reason: `indicated: ${s.modality}${s.bodyPart ? ' ' + s.bodyPart : ''}${study.ageYears !== null ? `, age ${Math.floor(study.ageYears)}` : ''}`, seriesId: s.id, seriesInstanceUID: s.seriesInstanceUID };
      }
      // The most telling reason is the one from a series of the right modality ("age 9 < 18").
      const matching = manifest.indication.modalities.map((m) => m.toUpperCase()).includes(s.modality);
      if (!reason || (matching && !reasonFromMatchingModality)) {
        reason = r.reason;
        reasonFromMatchingModality = matching;
      }
    }
    return { ...base, decision: 'skip', reason: reason ?? 'outside indication' };
  });
}
